"""Sockets that never join the namespace (issue 11, item 3) cannot lock people out of a worker.

Before, connections were counted per address only once they connected to the socket.io namespace:
one address held 250 bare engine.io websockets and, under a 256 file-descriptor limit, nobody else
could connect. Now engine.io sessions are counted and capped per address as they open, a session that
has not connected to the namespace within NAMESPACE_TIMEOUT seconds is closed, and the worker raises
its own open-file limit to the most the system allows.

The server here starts with a soft limit of 128 open files and a hard limit of 256 (FD_LIMIT).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from skycall.signaling import MAX_CONNECTIONS_PER_ADDRESS
from skycall.testing.net import new_address
from skycall.testing.people import WAIT, People
from skycall.testing.processes import SkyCallProcess as Server
from skycall.transport import NAMESPACE_TIMEOUT
from tests.raw_socket import RawSocket, ServerLog, open_many

FD_LIMIT = (128, 256)
ATTACK = 250  # bare websockets from one address, as in the issue


@pytest.fixture(scope='module')
def server() -> Iterator[Server]:
    """The fast tests' server, started with at most FD_LIMIT open files."""
    with Server(max_participants='2').limit_open_files(*FD_LIMIT).start() as limited:
        yield limited


def open_file_limit(pid: int) -> int:
    """The soft limit on open files of process ``pid`` (Linux)."""
    for line in Path(f'/proc/{pid}/limits').read_text().splitlines():
        if line.startswith('Max open files'):
            return int(line.split()[3])
    raise AssertionError('no open-file limit')


def test_the_worker_takes_the_open_files_the_system_allows(server: Server) -> None:
    assert open_file_limit(server.process.pid) == FD_LIMIT[1]


async def test_bare_sockets_from_one_address_cannot_lock_people_out(server: Server, people: People) -> None:
    sockets, refused = await open_many(server.url, new_address(), ATTACK)
    try:
        # Someone elsewhere still gets a room, connects, joins and chats...
        room = await server.create_room()
        ada = await people.join(room, 'Ada')
        await ada.say('still room for me')
        assert (await ada.expect('chat'))['text'] == 'still room for me'
        # ...because the attacker's address holds no more sockets than the cap.
        assert len([socket for socket in sockets if not socket.closed.is_set()]) <= MAX_CONNECTIONS_PER_ADDRESS
        assert refused >= ATTACK - len(sockets) > 0
    finally:
        for socket in sockets:
            await socket.close()


async def test_the_address_may_connect_again_once_its_sockets_are_gone(server: Server, people: People) -> None:
    address = new_address()
    sockets, _ = await open_many(server.url, address, MAX_CONNECTIONS_PER_ADDRESS + 5)
    assert len(sockets) == MAX_CONNECTIONS_PER_ADDRESS
    for socket in sockets:
        await socket.close()
    # The server counts a socket out when it has seen it close, a moment after the client has.
    deadline = time.monotonic() + WAIT
    while True:
        try:
            person = await people.connect('Ada', address=address)
            break
        except socketio.exceptions.ConnectionError:
            assert time.monotonic() < deadline, 'the address stays locked out'
            await asyncio.sleep(0.1)  # polling a condition, with a deadline
    assert (await person.call('join', {'ticket': 'not-a-ticket'}))['code'] == 'bad-ticket'


async def test_a_socket_that_never_connects_to_the_namespace_is_closed(server: Server, people: People) -> None:
    person = await people.connect('Ada')  # connects to the namespace at once, as every client does
    address = new_address()
    log = ServerLog(server.log)
    idle = await RawSocket.open(server.url, address)  # answers pings, never sends the namespace connect
    try:
        assert await idle.closed_within(NAMESPACE_TIMEOUT + WAIT), 'the bare socket stays open'
        assert len(log.lines_about(address)) == 1, log.new_lines()
        # The person's socket, opened earlier, outlived the same timeout.
        assert (await person.call('join', {'ticket': 'not-a-ticket'}))['code'] == 'bad-ticket'
    finally:
        with contextlib.suppress(Exception):
            await idle.close()
