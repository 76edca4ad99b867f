"""The abuser of the bystander benchmark (bench/bystander.py), run as a process of its own so that its CPU is
not the benchmark's event loop: ``python -m bench.abuser KIND URL ROOM SECONDS ADDRESS...``.

KIND is ``pages`` (a cookieless page-view flood: GET /dial/<room>, / and /healthz, as fast as the server
answers, over CONCURRENCY connections) or ``sockets`` (engine.io websockets opened and dropped bare, or
closed by the server at a malformed socket.io frame or a binary frame). The connections are spread over
the given loopback addresses, a few each, under the server's per-address caps, as a handful of machines
would. It stops by itself after SECONDS (or MAX_ATTEMPTS), prints ``started`` when it begins and one line
of JSON at the end: attempts, by outcome, and the rate it achieved.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import aiohttp

from skycall.signaling import SOCKETIO_PATH

CONCURRENCY = 24  # connections at once, over all addresses (8 a piece for 3 addresses: under the cap of 50)
MAX_ATTEMPTS = 200_000  # a bound besides the time, should the server answer faster than expected
REQUEST_TIMEOUT = 10.0
# The abuser shares this machine's cores with the server it attacks; elsewhere it would not. A lower priority
# keeps its own CPU from being counted against the server, while it still uses whatever is idle.
NICENESS = 5
MALFORMED_FRAME = '42["join",1'  # an event whose JSON never ends: the server closes the connection
BINARY_FRAME = b'\x04' + b'\x00' * 15  # SkyCall never takes binary: closed at once


class Tally:
    """Attempts by outcome: ``ok`` (2xx page, or a socket the server opened), ``refused:<status>`` (a
    4xx/5xx answer or a refused handshake), ``error:<kind>`` (no answer: reset, timeout)."""

    def __init__(self, seconds: float) -> None:
        self.counts: Counter[str] = Counter()
        self.started = time.monotonic()
        self.end = self.started + seconds

    def going(self) -> bool:
        return time.monotonic() < self.end and self.counts.total() < MAX_ATTEMPTS

    def report(self, kind: str) -> dict[str, object]:
        seconds = time.monotonic() - self.started
        attempts = self.counts.total()
        return {'kind': kind, 'attempts': attempts, 'seconds': round(seconds, 2),
                'rate': round(attempts / seconds, 1) if seconds else 0.0, 'outcomes': dict(self.counts)}


class Target(NamedTuple):
    url: str  # http://host:port
    room: str  # a real room, for its invite page


async def page_views(session: aiohttp.ClientSession, target: Target, tally: Tally, offset: int) -> None:
    """One connection's loop: the next page as soon as the last one has arrived, without a cookie."""
    paths = (f'/dial/{target.room}', '/', '/healthz')
    n = offset
    while tally.going():
        n += 1
        try:
            async with session.get(paths[n % len(paths)], allow_redirects=False) as response:
                await response.read()  # the whole page, as a browser would take it
                tally.counts['ok' if response.status < 400 else f'refused:{response.status}'] += 1
        except (aiohttp.ClientError, TimeoutError) as error:
            tally.counts[f'error:{type(error).__name__}'] += 1


async def sockets(session: aiohttp.ClientSession, target: Target, tally: Tally, offset: int) -> None:
    """One connection's loop: open an engine.io websocket, then drop it bare, or send what the server
    refuses (a malformed event after joining the namespace, a binary frame) and wait for it to close."""
    n = offset
    while tally.going():
        n += 1
        try:
            async with session.ws_connect(f'{SOCKETIO_PATH}/?EIO=4&transport=websocket', origin=target.url,
                                          autoping=False, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws:
                await ws.receive(timeout=REQUEST_TIMEOUT)  # engine.io's open packet
                if n % 3 == 1:
                    await ws.send_str('40')
                    await ws.receive(timeout=REQUEST_TIMEOUT)  # the namespace's connect
                    await ws.send_str(MALFORMED_FRAME)
                    await ws.receive(timeout=REQUEST_TIMEOUT)  # the close
                elif n % 3 == 2:
                    await ws.send_bytes(BINARY_FRAME)
                    await ws.receive(timeout=REQUEST_TIMEOUT)
            tally.counts['ok'] += 1  # the third kind: opened and dropped at once
        except aiohttp.WSServerHandshakeError as error:
            tally.counts[f'refused:{error.status}'] += 1
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as error:
            tally.counts[f'error:{type(error).__name__}'] += 1


KINDS: dict[str, Callable[[aiohttp.ClientSession, Target, Tally, int], Awaitable[None]]] = {
    'pages': page_views, 'sockets': sockets}


async def abuse(kind: str, url: str, room: str, seconds: float, addresses: list[str]) -> dict[str, object]:
    loop = KINDS[kind]
    per_address = max(1, CONCURRENCY // len(addresses))
    sessions = [aiohttp.ClientSession(
        base_url=url, cookie_jar=aiohttp.DummyCookieJar(),  # cookieless: every page view is a new visitor
        connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=per_address),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) for address in addresses]
    tally = Tally(seconds)
    print('started', flush=True)
    try:
        await asyncio.wait_for(asyncio.gather(*(loop(session, Target(url, room), tally, n) for session in sessions
                                                for n in range(per_address))), seconds + 2 * REQUEST_TIMEOUT)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    return tally.report(kind)


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[0] not in KINDS:
        print(f'usage: python -m bench.abuser {{{",".join(KINDS)}}} URL ROOM SECONDS ADDRESS...', file=sys.stderr)
        return 2
    kind, url, room, seconds, addresses = argv[0], argv[1], argv[2], float(argv[3]), argv[4:]
    os.nice(NICENESS)
    print(json.dumps(asyncio.run(abuse(kind, url, room, seconds, addresses))), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
