"""Signaling relay latency within one worker, and the highest rate it sustains.

Pairs of python-socketio clients share a room: the guest sends ICE-candidate `signal` messages to the
host, each carrying its send time; the host notes when it arrives. Latency is arrival minus send, on
one monotonic clock (both ends live in this process), so it includes both clients' socket.io work.

The server allows one connection 200 signals per 4 s (50 a second), so the load is spread over many
sender connections, each well under that (SENDER_RATE a second), and the pairs over loopback addresses
(the server also limits connections, rooms and joins per address). No server setting is changed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from skycall.testing.api import Api
from skycall.testing.net import loopback_addresses

from .harness import BaselineServer, BenchServer, Deadline, ProcessFigures, enter_room
from .relay_steps import SENDER_RATE, Pair, Workers, steps
from .results import Result, Row, ok

REDIS_URL = 'redis://127.0.0.1:6379/0'  # the one `make bench` starts (as `make test` does)
PAIRS_PER_ADDRESS = 5  # 10 connections, 5 rooms, 15 joins per address: well inside its limits


@dataclass
class Relay(Result):
    """The fixed rates (``rates``), the probe above them (``ramp``), both in ``steps``; the same across two
    workers and against the bare relay (or why they are missing)."""

    title: ClassVar[str] = '2. Signaling relay'
    pairs: int
    sender_rate: int
    rates: list[dict[str, Any]]
    ramp: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    max_sustained_rate: int
    ramp_stopped_by: str
    across_workers: dict[str, Any] | None = None
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        table = []
        for step in self.rates:
            latency = step['latency_ms']
            lost = f', {step["lost"]} lost' if step['lost'] else ''
            table += [
                Row(self.title, f'p50 at {step["rate"]}/s', f'{latency["p50"]:.2f} ms', '<= 1 ms', latency['p50'] <= 1),
                Row(self.title, f'p99 at {step["rate"]}/s{lost}', f'{latency["p99"]:.2f} ms', '<= 5 ms',
                    latency['p99'] <= 5 and not step['lost']),
            ]
        table.append(Row(self.title, f'highest rate sustained (stopped by: {self.ramp_stopped_by})',
                         f'{self.max_sustained_rate}/s'))
        across = self.across_workers
        if ok(across):
            assert across is not None
            table += [Row(self.title, 'across two workers through Redis: p50 / p99', _latencies(across['rates'])),
                      Row(self.title, 'across two workers: highest rate sustained',
                          f'{across["max_sustained_rate"]}/s')]
        elif across is not None:
            table.append(Row(self.title, f'across two workers: {across.get("error")}'[:100], 'not measured'))
        for ws, floor in self.calibration.items():
            if ok(floor):
                table.append(Row(self.title, f'calibration: bare python-socketio relay (uvicorn ws={ws}), p50 / p99',
                                 _latencies(floor['rates'])))
        return table

    def details(self) -> list[str]:
        lines = ['', '### 2. Signaling relay', '',
                 f'{self.pairs} rooms of two python-socketio clients; each sender at most {self.sender_rate} '
                 'signals a second (the server allows 50). Latency is send to arrival on one clock, in one client '
                 'process, so it includes both clients\' socket.io work. "Sustained": 99 % delivered, p99 under '
                 '50 ms, and the clients kept up with the offered rate.', '']
        lines += _steps_md(self.steps)
        if self.across_workers is not None:
            lines += ['', 'Across two workers (guests on one, hosts on the other, Redis between them):', '']
            lines += _steps_md(self.across_workers['steps']) if ok(self.across_workers) else \
                [f'not measured: {self.across_workers.get("error")}']
        for ws, floor in self.calibration.items():
            lines += ['', f'Calibration: the same clients against a bare python-socketio relay (no SkyCall: no '
                      f'validation, rate limits, store or NiceGUI middleware), uvicorn ws={ws}:', '']
            lines += _steps_md(floor['steps']) if ok(floor) else [f'not measured: {floor.get("error")}']
        return lines


def _latencies(steps: list[dict[str, Any]]) -> str:
    return ', '.join(f'{s["latency_ms"]["p50"]:.2f} / {s["latency_ms"]["p99"]:.2f} ms at {s["rate"]}/s' for s in steps)


def _steps_md(steps: list[dict[str, Any]]) -> list[str]:
    lines = ['| offered | sent/s | p50 ms | p99 ms | max ms | lost | server CPU | client CPU | sustained |',
             '|---|---|---|---|---|---|---|---|---|']
    for step in steps:
        latency = step['latency_ms']
        lines.append(f'| {step["rate"]}/s for {step["seconds"]:.0f} s | {step["achieved_send_rate"]:.0f} | '
                     f'{latency["p50"]:.2f} | {latency["p99"]:.2f} | {latency["max"]:.1f} | {step["lost"]} | '
                     f'{step["server_cpu"]:.0%} | {step["client_cpu"]:.0%} | {"yes" if step["sustained"] else "no"} |')
    return lines


async def measure(rates: tuple[int, ...] = (100, 1000), seconds: float = 5.0,
                  probe: tuple[int, ...] = (200, 500, 1500, 2000, 3000, 4000, 6000), probe_seconds: float = 3.0,
                  time_bound: float = 90.0) -> Relay:
    """SkyCall's relay at ``rates``; then the highest rate sustained, probing upwards until a step fails."""
    with BenchServer().start() as server:
        api = Api(server.url)
        pairs = await _seat_pairs(server, max(rates + probe) // SENDER_RATE, api)
        results = await steps(server, pairs, rates, seconds, probe, probe_seconds, Deadline(time_bound))
        await _hang_up(pairs)
        await api.close()
    return Relay(**results)


async def measure_across_workers(rates: tuple[int, ...] = (100, 1000), seconds: float = 5.0,
                                 probe: tuple[int, ...] = (200, 500, 1500, 2000), time_bound: float = 45.0,
                                 redis_url: str = REDIS_URL) -> dict[str, Any]:
    """Guests on one worker, hosts on another, both with the Redis store: every relay crosses Redis."""
    prefix = f'bench{os.getpid()}:'
    try:
        with BenchServer(redis_url=redis_url, redis_prefix=prefix).start() as guests, \
                BenchServer(redis_url=redis_url, redis_prefix=prefix).start() as hosts:
            api, other = Api(guests.url), Api(hosts.url)
            try:
                await other.ticket(await api.create_room('127.0.0.251'), 'Probe', '127.0.0.251')
            except RuntimeError:
                await api.close()
                return {'error': 'the workers do not share rooms: no Redis store in this version (SKYCALL_REDIS_URL)'}
            finally:
                await other.close()
            workers = Workers(guests, hosts)
            pairs = await _seat_pairs(workers, max(rates + probe) // SENDER_RATE, api, guest_url=guests.url)
            results = await steps(workers, pairs, rates, seconds, probe, 3.0, Deadline(time_bound))
            await _hang_up(pairs)
            await api.close()
    finally:
        _forget_redis_keys(redis_url, prefix)
    return {'server': f'two SkyCall workers through Redis ({redis_url})', **results}


def _forget_redis_keys(redis_url: str, prefix: str) -> None:
    """Remove what the benchmark's workers left in the shared Redis."""
    try:
        import redis  # the Redis store's own client; absent where SkyCall has no Redis store
    except ImportError:
        return
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f'{prefix}*', count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


async def calibrate(ws: str, rates: tuple[int, ...] = (100, 1000), seconds: float = 4.0,
                    probe: tuple[int, ...] = (), time_bound: float = 40.0) -> dict[str, Any]:
    """The same clients and messages against a bare python-socketio relay (bench/baseline_server.py)."""
    with BaselineServer(ws) as server:
        pairs = await _seat_pairs(server, max(rates + probe) // SENDER_RATE, None)
        results = await steps(server, pairs, rates, seconds, probe, 3.0, Deadline(time_bound))
        await _hang_up(pairs)
    return {'server': f'bare python-socketio relay, uvicorn ws={ws}', **results}


async def _seat_pairs(server: ProcessFigures | Workers, count: int, api: Api | None,
                      guest_url: str | None = None) -> list[Pair]:
    """``count`` rooms of two; with ``api`` through SkyCall's HTTP API, else with baseline tickets.
    Guests connect to ``guest_url`` when given (another worker), hosts to ``server``."""
    addresses = loopback_addresses((count + PAIRS_PER_ADDRESS - 1) // PAIRS_PER_ADDRESS)
    pairs = [Pair(server.url, addresses[n // PAIRS_PER_ADDRESS], guest_url) for n in range(count)]

    async def seat(n: int, pair: Pair) -> None:
        if api is not None:
            room = await api.create_room(pair.host.address)
            host_ticket = await api.ticket(room, 'Host', pair.host.address)
            guest_ticket = await api.ticket(room, 'Guest', pair.guest.address)
        else:
            host_ticket = {'ticket': f'room{n}.host{n}', 'peer': f'host{n}'}
            guest_ticket = {'ticket': f'room{n}.guest{n}', 'peer': f'guest{n}'}
        await pair.host.connect()
        await pair.guest.connect()
        await enter_room(pair.host, pair.guest, host_ticket, guest_ticket)

    for group in range(0, count, 20):  # 20 pairs at a time
        await asyncio.gather(*(seat(n, pairs[n]) for n in range(group, min(count, group + 20))))
    return pairs


async def _hang_up(pairs: list[Pair]) -> None:
    await asyncio.gather(*(peer.close() for pair in pairs for peer in (pair.host, pair.guest)))


def run() -> Relay:
    """SkyCall's relay, across two workers, then the same load against the bare relay with NiceGUI's websocket
    implementation (wsproto) and with uvicorn's default one (websockets)."""
    result = asyncio.run(asyncio.wait_for(measure(), 150))
    result.across_workers = _or_error(lambda: asyncio.run(asyncio.wait_for(measure_across_workers(), 100)))
    result.calibration = {ws: _or_error(lambda ws=ws: asyncio.run(asyncio.wait_for(calibrate(ws), 60)))
                          for ws in ('wsproto', 'websockets')}
    return result


def _or_error(run: Any) -> dict[str, Any]:
    try:
        return dict(run())
    except Exception as error:  # noqa: BLE001 (calibration is optional: say why it is missing)
        return {'error': f'{type(error).__name__}: {error}'[:200]}
