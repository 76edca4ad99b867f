"""Capacity: 1,000 concurrent signaling connections on one worker, seated two to a room.

The connections come from 100 loopback addresses, 10 each (5 rooms), because the server limits
connections, rooms and joins per address. Memory is the server's resident set (VmRSS) before the
first connection and with all of them seated, after a short pause each time.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from skycall.testing.api import Api
from skycall.testing.net import loopback_addresses
from skycall.testing.people import Participant

from .harness import BaselineServer, BenchServer, ProcessFigures, chunks, enter_room, peer, settle
from .results import KB, MB, Result, Row, ok

CONNECTIONS = 1000
PER_ADDRESS = 10
CONCURRENCY = 50  # connection attempts in flight at once
IDLE_SECONDS = 5.0  # how long the seated connections sit idle (pings only) before memory is read
TIME_BOUND = 120.0  # seconds for SkyCall's part; half of it for each calibration


@dataclass
class Capacity(Result):
    """How fast the connections came and sat down, and what they cost the server; ``calibration``: the
    same against the bare relay, per uvicorn websocket implementation (or why it is missing)."""

    title: ClassVar[str] = '3. Capacity'
    connections: int
    addresses: int
    connect_seconds: float
    connect_rate_per_s: float
    seat_seconds: float
    seat_rate_per_s: float
    connect_and_seat_rate_per_s: float
    server_cpu_seconds_for_setup: float
    client_cpu_seconds_for_setup: float
    alive_after_idle: int
    idle_server_cpu: float
    rss_before_bytes: int
    rss_after_bytes: int
    rss_after_disconnect_bytes: int
    bytes_per_connection: int
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        per = self.bytes_per_connection
        return [
            Row(self.title, f'{self.connections} connections: connect rate', f'{self.connect_rate_per_s:.0f}/s'),
            Row(self.title, 'seat rate (join, knock, answer, join)', f'{self.seat_rate_per_s:.0f}/s'),
            Row(self.title, f'server memory per connection ({self.alive_after_idle} alive after idling)',
                f'{per / KB:.1f} KB', '<= 60 KB', per <= 60 * KB),
        ] + [Row(self.title, f'calibration: bare python-socketio relay (uvicorn ws={ws}), memory per connection',
                 f'{floor["bytes_per_connection"] / KB:.1f} KB')
             for ws, floor in self.calibration.items() if ok(floor)]

    def details(self) -> list[str]:
        lines = ['', '### 3. Capacity', '',
                 f'{self.connections} connections from {self.addresses} loopback addresses, two to a room: '
                 f'connected in {self.connect_seconds} s, seated in {self.seat_seconds} s more '
                 f'(CPU for both: server {self.server_cpu_seconds_for_setup} s, benchmark client '
                 f'{self.client_cpu_seconds_for_setup} s). Server RSS '
                 f'{self.rss_before_bytes / MB:.1f} MB before, {self.rss_after_bytes / MB:.1f} MB with all '
                 f'seated, {self.rss_after_disconnect_bytes / MB:.1f} MB after they left; idle with all connected '
                 f'(pings only) the server used {self.idle_server_cpu:.0%} of a core.']
        for ws, floor in self.calibration.items():
            if ok(floor):
                lines += ['', f'Calibration, the same connections against a bare python-socketio relay '
                          f'(uvicorn ws={ws}): {floor["bytes_per_connection"] / KB:.1f} KB each, connected at '
                          f'{floor["connect_rate_per_s"]:.0f}/s, seated at {floor["seat_rate_per_s"]:.0f}/s '
                          f'(server CPU {floor["server_cpu_seconds_for_setup"]} s).']
        return lines


async def measure(connections: int = CONNECTIONS) -> Capacity:
    _allow_open_files(connections * 2 + 200)
    with BenchServer().start() as server:
        api = Api(server.url)
        await _warm_up(api, server)
        return Capacity(**await _fill(server, connections, api))


async def calibrate(ws: str, connections: int = CONNECTIONS) -> dict[str, Any]:
    """The same connections against the bare python-socketio relay (bench/baseline_server.py)."""
    with BaselineServer(ws) as server:
        return {'server': f'bare python-socketio relay, uvicorn ws={ws}', **await _fill(server, connections, None)}


async def _fill(server: ProcessFigures, connections: int, api: Api | None) -> dict[str, Any]:
    """Connect ``connections`` clients, seat them two to a room, idle, read the memory, let them go."""
    rss_before = await settle(server, 1.0)
    addresses = loopback_addresses(connections // PER_ADDRESS, first=20)
    homes = [addresses[n // (PER_ADDRESS // 2)] for n in range(connections // 2)]
    pairs = [(peer(server.url, home), peer(server.url, home)) for home in homes]
    tickets = await _tickets(api, pairs) if api else [
        ({'ticket': f'room{n}.host{n}', 'peer': f'host{n}'}, {'ticket': f'room{n}.guest{n}', 'peer': f'guest{n}'})
        for n in range(len(pairs))]
    peers = [peer for pair in pairs for peer in pair]
    cpu_before, client_before = server.cpu_seconds(), time.process_time()

    started = time.perf_counter()
    for group in chunks(peers, CONCURRENCY):
        await asyncio.gather(*(peer.connect() for peer in group))
    connected = time.perf_counter()
    for group in chunks(list(zip(pairs, tickets, strict=True)), CONCURRENCY // 2):
        await asyncio.gather(*(enter_room(host, guest, *pair_tickets) for (host, guest), pair_tickets in group))
    seated = time.perf_counter()
    setup_cpu = server.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_before

    idle_cpu_before = server.cpu_seconds()
    rss_after = await settle(server, IDLE_SECONDS)
    idle_cpu = (server.cpu_seconds() - idle_cpu_before) / IDLE_SECONDS
    alive = sum(peer.sio.connected for peer in peers)
    for group in chunks(peers, 200):
        await asyncio.gather(*(peer.close() for peer in group))
    rss_after_disconnect = await settle(server, 1.0)
    if api is not None:
        await api.close()
    return {
        'connections': connections,
        'addresses': len(addresses),
        'connect_seconds': round(connected - started, 3),
        'connect_rate_per_s': round(connections / (connected - started), 1),
        'seat_seconds': round(seated - connected, 3),
        'seat_rate_per_s': round(connections / (seated - connected), 1),
        'connect_and_seat_rate_per_s': round(connections / (seated - started), 1),
        'server_cpu_seconds_for_setup': round(setup_cpu, 2),
        'client_cpu_seconds_for_setup': round(client_cpu, 2),
        'alive_after_idle': alive,
        'idle_server_cpu': round(idle_cpu, 3),
        'rss_before_bytes': rss_before,
        'rss_after_bytes': rss_after,
        'rss_after_disconnect_bytes': rss_after_disconnect,
        'bytes_per_connection': round((rss_after - rss_before) / connections),
    }


async def _warm_up(api: Api, server: BenchServer) -> None:
    """One room's worth of connect, join, leave and disconnect, so first-use imports are not counted."""
    address = '127.0.0.250'
    room = await api.create_room(address)
    host, guest = peer(server.url, address), peer(server.url, address)
    await host.connect()
    await guest.connect()
    await enter_room(host, guest, await api.ticket(room, 'Host', address), await api.ticket(room, 'Guest', address))
    await guest.hangs_up()
    await host.close()
    await guest.close()


async def _tickets(api: Api, pairs: list[tuple[Participant, Participant]]
                   ) -> list[tuple[dict[str, str], dict[str, str]]]:
    async def for_pair(host: Participant) -> tuple[dict[str, str], dict[str, str]]:
        room = await api.create_room(host.address)
        return await api.ticket(room, 'Host', host.address), await api.ticket(room, 'Guest', host.address)

    tickets: list[tuple[dict[str, str], dict[str, str]]] = []
    for group in chunks(pairs, CONCURRENCY):
        tickets += await asyncio.gather(*(for_pair(host) for host, _ in group))
    return tickets


def _allow_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def run() -> Capacity:
    """SkyCall, then the bare relay with NiceGUI's websocket implementation (wsproto) and uvicorn's default."""
    result = asyncio.run(asyncio.wait_for(measure(), TIME_BOUND))
    for ws in ('wsproto', 'websockets'):
        try:
            result.calibration[ws] = asyncio.run(asyncio.wait_for(calibrate(ws), TIME_BOUND / 2))
        except Exception as error:  # noqa: BLE001 (calibration is optional: say why it is missing)
            result.calibration[ws] = {'error': f'{type(error).__name__}: {error}'[:200]}
    return result
