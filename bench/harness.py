"""What the benchmarks share: a real server process with its memory and CPU, loopback client addresses,
the HTTP API, and socket.io clients that join rooms.

The server limits rooms, joins and connections per client address, as it should; the benchmarks spread
their clients over loopback addresses (127.0.0.2 to 127.0.0.254), as people on different machines would
be, instead of loosening the server's limits.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import aiohttp
import httpx
import socketio

from tests.server import ROOT, SkyCallServer, free_port

SIGNAL_PATH = '/signal/socket.io'
WAIT = 10.0  # seconds to wait for anything the server should do at once
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


class ProcessFigures:
    """What a benchmark reads of a server process from outside: its memory and CPU time."""

    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        """Resident memory of the server process, from /proc/<pid>/status (VmRSS)."""
        with open(f'/proc/{self.pid}/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
        raise RuntimeError('no VmRSS in /proc status')

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far."""
        with open(f'/proc/{self.pid}/stat') as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class BenchServer(ProcessFigures, SkyCallServer):
    """``python main.py`` in a child process (tests/server.py), SKYCALL_* settings as keyword arguments."""

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class BaselineServer(ProcessFigures):
    """bench/baseline_server.py in a child process: a bare python-socketio relay, for calibration."""

    def __init__(self, ws: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.process = subprocess.Popen([sys.executable, '-m', 'bench.baseline_server', str(self.port), ws],  # noqa: S603
                                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = Deadline(30)
        while True:
            try:
                if httpx.get(f'{self.url}/healthz', timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or deadline.passed():
                self.stop()
                raise RuntimeError(f'the baseline server ({ws}) did not start')
            time.sleep(0.1)  # polling a condition, with a deadline

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self) -> BaselineServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def loopback_addresses(count: int, first: int = 2) -> list[str]:
    """``count`` distinct loopback addresses, 127.0.0.<first> upwards (at most up to .254)."""
    if first + count - 1 > 254:
        raise ValueError(f'only 253 loopback addresses of the form 127.0.0.x: asked for {count} from .{first}')
    return [f'127.0.0.{n}' for n in range(first, first + count)]


async def settle(server: ProcessFigures, seconds: float = 1.0) -> int:
    """Wait a moment for the server to finish what it was doing, then read its RSS."""
    await asyncio.sleep(seconds)  # a fixed pause on purpose: memory is read when the server is idle
    return server.rss_bytes()


class Api:
    """The HTTP API (POST /api/rooms, POST /api/rooms/{room}/tickets), from chosen loopback addresses."""

    def __init__(self, server: BenchServer) -> None:
        self.url = server.url
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, address: str) -> httpx.AsyncClient:
        if address not in self._clients:
            transport = httpx.AsyncHTTPTransport(local_address=address)
            self._clients[address] = httpx.AsyncClient(base_url=self.url, timeout=WAIT, transport=transport,
                                                       trust_env=False)
        return self._clients[address]

    async def _post(self, address: str, path: str, **kwargs: Any) -> httpx.Response:
        """POST, once more on a broken connection: uvicorn closes idle keep-alive connections after 5 s,
        and a request can race that close (both endpoints are safe to repeat)."""
        try:
            return await self._client(address).post(path, **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            return await self._client(address).post(path, **kwargs)

    async def create_room(self, address: str) -> str:
        response = await self._post(address, '/api/rooms')
        if response.status_code != 201:
            raise RuntimeError(f'POST /api/rooms from {address}: {response.status_code} {response.text}')
        return str(response.json()['room'])

    async def ticket(self, room: str, name: str, address: str) -> dict[str, str]:
        response = await self._post(address, f'/api/rooms/{room}/tickets', json={'name': name})
        if response.status_code != 200:
            raise RuntimeError(f'ticket for {room}: {response.status_code} {response.text}')
        return dict(response.json())

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class Peer:
    """One python-socketio AsyncClient on the signaling server, from one loopback address."""

    def __init__(self, url: str, address: str) -> None:
        self.url = url
        self.address = address
        self.sio = socketio.AsyncClient(
            reconnection=False,
            http_session=lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0))),
        )
        self.id = ''
        self.admitted = asyncio.Event()
        self.sio.on('admitted', lambda *_: self.admitted.set())
        self._departures: dict[str, asyncio.Event] = {}
        self.sio.on('peer-left', self._peer_left)

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        self.sio.on(event, handler)

    def _peer_left(self, peer: dict[str, Any]) -> None:
        self._departures.setdefault(str(peer.get('id')), asyncio.Event()).set()

    async def saw_leave(self, peer: str) -> None:
        """Wait until the server has told this client that ``peer`` left the room."""
        await asyncio.wait_for(self._departures.setdefault(peer, asyncio.Event()).wait(), WAIT)
        del self._departures[peer]

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=['websocket'], socketio_path=SIGNAL_PATH, wait_timeout=WAIT)

    async def join(self, ticket: dict[str, str]) -> dict[str, Any]:
        reply = await self.sio.call('join', {'ticket': ticket['ticket']}, timeout=WAIT)
        if not (isinstance(reply, dict) and reply.get('ok')):
            raise RuntimeError(f'join refused: {reply}')
        self.id = ticket['peer']
        return reply

    async def join_or_knock(self, ticket: dict[str, str]) -> bool:
        """Join; True when seated, False when knocking (someone in the room must answer)."""
        reply = await self.join(ticket)
        return not reply.get('waiting', False)

    async def answer(self, peer: str) -> None:
        reply = await self.sio.call('answer', {'id': peer}, timeout=WAIT)
        if not (isinstance(reply, dict) and reply.get('ok')):
            raise RuntimeError(f'answer refused: {reply}')

    async def leave(self) -> None:
        reply = await self.sio.call('leave', {}, timeout=WAIT)
        if not (isinstance(reply, dict) and reply.get('ok')):
            raise RuntimeError(f'leave refused: {reply}')

    async def disconnect(self) -> None:
        await self.sio.disconnect()
        http = self.sio.eio.http
        if http is not None and not http.closed:
            await http.close()


async def enter_room(host: Peer, guest: Peer, host_ticket: dict[str, str], guest_ticket: dict[str, str]) -> None:
    """Seat ``host`` in its empty room, then ``guest`` beside it: a guest knocks and the host answers."""
    if not await host.join_or_knock(host_ticket):
        raise RuntimeError('the first person in an empty room was not seated')
    await seat_guest(host, guest, guest_ticket)


async def seat_guest(host: Peer, guest: Peer, ticket: dict[str, str]) -> None:
    """``guest`` joins the room ``host`` sits in; when it knocks, ``host`` answers and it joins again."""
    guest.admitted.clear()
    if await guest.join_or_knock(ticket):
        return  # a server without knocking seats at once
    await host.answer(ticket['peer'])
    await asyncio.wait_for(guest.admitted.wait(), WAIT)
    if not await guest.join_or_knock(ticket):
        raise RuntimeError('an admitted guest was not seated')


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float('nan')
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {'n': len(values), 'p50': percentile(values, 50), 'p95': percentile(values, 95),
            'p99': percentile(values, 99), 'min': min(values, default=float('nan')),
            'max': max(values, default=float('nan')), 'mean': statistics.fmean(values) if values else float('nan')}


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Deadline:
    """A time bound for a benchmark loop."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self.end

    def check(self, what: str) -> None:
        if self.passed():
            raise TimeoutError(f'{what}: over the time bound')
