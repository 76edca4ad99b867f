"""Frames no SkyCall client sends (issue 11, item 1): the connection closes at the first one, with one
log line and no traceback, and nothing the frame declared is kept.

Each attacker writes raw engine.io frames (tests/raw_socket.py) from a loopback address of its own, so
the server's log lines can be told apart by address.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skycall.testing.net import new_address
from skycall.testing.people import WAIT, People
from tests.raw_socket import RawSocket, ServerLog

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server

MB = 1024 * 1024


def resident_memory(pid: int) -> int:
    """The resident set size of process ``pid``, in bytes (Linux)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
    raise AssertionError('no VmRSS')


async def attacker(server: Server, *, joined: bool = True) -> tuple[RawSocket, str]:
    address = new_address()
    socket = await RawSocket.open(server.url, address)
    if joined:
        await socket.join_namespace()
    return socket, address


async def test_a_million_binary_attachments_are_refused_not_kept(server: Server) -> None:
    socket, address = await attacker(server)
    log = ServerLog(server.log)
    before = resident_memory(server.process.pid)
    # socket.io's BINARY_EVENT announcing 1,000,000 attachments, then the attachments themselves.
    assert await socket.send('451000000-["chat",{"_placeholder":true,"num":0}]')
    chunk = bytes(60 * 1024)  # each under the 64 KiB frame limit
    sent = 0
    while sent < 48 * MB and await socket.send(chunk):
        sent += len(chunk)
    assert await socket.closed_within(WAIT), 'the connection stays open'
    assert resident_memory(server.process.pid) - before < 16 * MB, f'the server kept {sent // MB} MB of attachments'
    assert len(log.lines_about(address)) == 1, log.new_lines()
    await socket.close()


@pytest.mark.parametrize('frame', [
    b'\x04\x00\x01',  # a binary websocket frame
    'bAAECAw==',  # engine.io's base64 binary message
    '452-["chat",{"_placeholder":true,"num":0}]',  # BINARY_EVENT
    '461-[{"_placeholder":true,"num":0}]',  # BINARY_ACK
    '421-["chat",{"text":"hi"}]',  # an EVENT with an attachment count
    '43[1]',  # an ACK the server never asked for
    '42["join",1',  # broken JSON
    '42{"event":"join"}',  # an event that is not a list
    '42[7]',  # an event without a name
    '42["disconnect"]',  # socket.io's own events, which would run the namespace's handlers
    '42["connect",{"asgi.scope":{"client":["198.51.100.7",1]}}]',
    '42/admin,["join",{}]',  # a namespace SkyCall does not have
    '40',  # a second namespace connect
    '4x',  # not a socket.io packet
    '4',
    '9',  # not an engine.io packet
    '',
])
async def test_a_malformed_frame_closes_the_connection_with_one_log_line(server: Server, frame: str | bytes) -> None:
    socket, address = await attacker(server)
    log = ServerLog(server.log)
    assert await socket.send(frame)
    assert await socket.closed_within(WAIT), 'the connection stays open'
    assert len(log.lines_about(address)) == 1, log.new_lines()
    assert not log.tracebacks()
    await socket.close()


@pytest.mark.parametrize('frame', ['42["join",1', '452-["chat",{"_placeholder":true,"num":0}]', '43[1]'])
async def test_a_malformed_frame_before_the_namespace_connect_closes_the_connection(server: Server,
                                                                                     frame: str) -> None:
    socket, address = await attacker(server, joined=False)
    log = ServerLog(server.log)
    assert await socket.send(frame)
    assert await socket.closed_within(WAIT), 'the connection stays open'
    assert len(log.lines_about(address)) == 1, log.new_lines()
    await socket.close()


async def test_people_still_call_after_the_refusals(server: Server, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    assert await ada.expect('peer-joined') == bob.you
    await bob.say('still here')
    assert (await ada.expect('chat'))['text'] == 'still here'
