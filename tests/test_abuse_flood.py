"""Log and CPU floods (issue 11, item 2): malformed frames cannot fill the log or slow other people's calls.

Before, every malformed frame logged a full traceback and the connection stayed open: 3 s of 11-byte
frames from one socket without a ticket wrote 22 MB of log and delayed an unrelated call's signals by
almost a second. Now the first such frame closes the connection with one log line, and refusals are
logged at most once per address and LOG_BURST times in all per LOG_PERIOD per worker.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from typing import TYPE_CHECKING

from skycall.testing.net import new_address
from skycall.testing.people import WAIT, People
from skycall.testing.samples import OFFER
from skycall.transport import LOG_BURST, LOG_PERIOD
from tests.raw_socket import RawSocket, ServerLog

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server

FLOOD_FRAME = '42["join",1'  # 11 bytes: an event whose JSON never ends
FLOOD_SECONDS = 3.0


async def test_a_flood_of_malformed_frames_ends_at_the_first_one(server: Server, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    assert await ada.expect('peer-joined') == bob.you
    address = new_address()
    attacker = await RawSocket.open(server.url, address)
    await attacker.join_namespace()  # no ticket: it never joins a room
    log = ServerLog(server.log)

    async def flood() -> int:
        frames = 0
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline and not attacker.closed.is_set() and await attacker.send(FLOOD_FRAME):
            frames += 1
            if frames % 100 == 0:
                await asyncio.sleep(0)  # let the attacker's reader see the close
        return frames

    async def signal_delays() -> list[float]:
        delays = []
        for _ in range(20):
            sent = time.monotonic()
            assert await ada.call('signal', {'to': bob.id, 'description': OFFER}) == {'ok': True}
            assert await bob.expect('signal') == {'from': ada.id, 'description': OFFER}
            delays.append(time.monotonic() - sent)
        return delays

    quiet = statistics.median(await signal_delays())
    frames, delays = await asyncio.gather(flood(), signal_delays())
    assert await attacker.closed_within(WAIT), f'the connection stayed open through {frames} frames'
    assert len(log.lines_about(address)) == 1, log.new_lines()[:5]
    assert not log.tracebacks()
    assert statistics.median(delays) < 2 * quiet + 0.1, (quiet, delays)  # the machine may be busy with other work
    await attacker.close()


async def refuse_one_after_another(server: Server, addresses: list[str]) -> float:
    """A connection from each address in turn, each closed at its one bad frame; the seconds it took."""
    started = time.monotonic()
    for address in addresses:
        attacker = await RawSocket.open(server.url, address)
        await attacker.send(FLOOD_FRAME)
        assert await attacker.closed_within(WAIT), 'the connection stays open'
        await attacker.close()
    return time.monotonic() - started


def windows(seconds: float) -> int:
    """How many of the log throttle's periods a stretch of ``seconds`` can touch."""
    return math.ceil(seconds / LOG_PERIOD) + 1


async def test_refusals_from_one_address_are_logged_once_a_period(server: Server) -> None:
    log = ServerLog(server.log)
    address = new_address()
    seconds = await refuse_one_after_another(server, [address] * 60)
    assert 1 <= len(log.lines_about(address)) <= windows(seconds), log.lines_about(address)
    assert not log.tracebacks()


async def test_refusals_from_many_addresses_are_logged_a_limited_number_of_times(server: Server) -> None:
    log = ServerLog(server.log)
    seconds = await refuse_one_after_another(server, [new_address() for _ in range(2 * LOG_BURST)])
    lines = [line for line in log.new_lines() if 'signaling: ' in line]
    assert LOG_BURST // 2 <= len(lines) <= LOG_BURST * windows(seconds), len(lines)
    assert not log.tracebacks()


async def test_people_can_connect_after_the_floods(server: Server, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    await ada.say('after the flood')
    assert (await ada.expect('chat'))['text'] == 'after the flood'
