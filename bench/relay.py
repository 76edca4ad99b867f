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
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from skycall.testing.api import Api
from skycall.testing.net import loopback_addresses

from .harness import BaselineServer, BenchServer, Deadline, ProcessFigures, enter_room, peer, summary

REDIS_URL = 'redis://127.0.0.1:6379/0'  # the one `make bench` starts (as `make test` does)
SENDER_RATE = 25  # messages a second per sender connection: half the server's sustained limit
PAIRS_PER_ADDRESS = 5  # 10 connections, 5 rooms, 15 joins per address: well inside its limits
DRAIN_SECONDS = 2.0  # after a step, how long late messages may still arrive
# "Sustained": (nearly) everything offered arrives, and no queue builds up.
SUSTAINED_DELIVERY = 0.99
SUSTAINED_P99_MS = 50.0


@dataclass
class Step:
    rate: int
    seconds: float
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    send_lag: list[float] = field(default_factory=list)  # how late the sender loop was, ms
    all_sent: bool = False
    all_arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Pair:
    def __init__(self, url: str, address: str, guest_url: str | None = None) -> None:
        self.host = peer(url, address)
        self.guest = peer(guest_url or url, address)


class Workers:
    """Two SkyCall processes sharing Redis, as one for the CPU figures."""

    def __init__(self, guests: BenchServer, hosts: BenchServer) -> None:
        self.guests, self.hosts = guests, hosts
        self.url = hosts.url

    def cpu_seconds(self) -> float:
        return self.guests.cpu_seconds() + self.hosts.cpu_seconds()


async def measure(rates: tuple[int, ...] = (100, 1000), seconds: float = 5.0,
                  probe: tuple[int, ...] = (200, 500, 1500, 2000, 3000, 4000, 6000), probe_seconds: float = 3.0,
                  time_bound: float = 90.0) -> dict[str, Any]:
    """SkyCall's relay at ``rates``; then the highest rate sustained, probing upwards until a step fails."""
    with BenchServer() as server:
        api = Api(server)
        pairs = await _seat_pairs(server, max(rates + probe) // SENDER_RATE, api)
        results = await _steps(server, pairs, rates, seconds, probe, probe_seconds, Deadline(time_bound))
        await _hang_up(pairs)
        await api.close()
    return results


async def measure_across_workers(rates: tuple[int, ...] = (100, 1000), seconds: float = 5.0,
                                 probe: tuple[int, ...] = (200, 500, 1500, 2000), time_bound: float = 45.0,
                                 redis_url: str = REDIS_URL) -> dict[str, Any]:
    """Guests on one worker, hosts on another, both with the Redis store: every relay crosses Redis."""
    prefix = f'bench{os.getpid()}:'
    settings = {'redis_url': redis_url, 'redis_prefix': prefix}
    try:
        with BenchServer(**settings) as guests, BenchServer(**settings) as hosts:
            api, other = Api(guests), Api(hosts)
            try:
                await other.ticket(await api.create_room('127.0.0.251'), 'Probe', '127.0.0.251')
            except RuntimeError:
                await api.close()
                return {'error': 'the workers do not share rooms: no Redis store in this version (SKYCALL_REDIS_URL)'}
            finally:
                await other.close()
            workers = Workers(guests, hosts)
            pairs = await _seat_pairs(workers, max(rates + probe) // SENDER_RATE, api, guest_url=guests.url)
            results = await _steps(workers, pairs, rates, seconds, probe, 3.0, Deadline(time_bound))
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
        results = await _steps(server, pairs, rates, seconds, probe, 3.0, Deadline(time_bound))
        await _hang_up(pairs)
    return {'server': f'bare python-socketio relay, uvicorn ws={ws}', **results}


async def _steps(server: ProcessFigures | Workers, pairs: list[Pair], rates: tuple[int, ...], seconds: float,
                 probe: tuple[int, ...], probe_seconds: float, deadline: Deadline) -> dict[str, Any]:
    """Every rate in ``rates``; the ``probe`` rates in between and above them until one is not sustained."""
    current: list[Step] = []
    for pair in pairs:
        pair.host.on('signal', lambda message, current=current: _arrived(current, message))
        pair.guest.on('error', lambda error, current=current: current and current[-1].errors.append(error))
    await _run_step(Step(rates[0], 1.0), pairs, current, server)  # warm-up, discarded
    fixed: list[dict[str, Any]] = []
    ramp: list[dict[str, Any]] = []
    failed = False
    for rate in sorted(set(rates) | set(probe)):
        if rate in rates:
            fixed.append(await _run_step(Step(rate, seconds), pairs, current, server))
            failed = failed or not fixed[-1]['sustained']
        elif not failed and not deadline.passed():
            ramp.append(await _run_step(Step(rate, probe_seconds), pairs, current, server))
            failed = not ramp[-1]['sustained']
    steps = sorted(fixed + ramp, key=lambda step: step['rate'])
    sustained = 0
    for step in steps:  # the highest rate below which every step was sustained
        if not step['sustained']:
            break
        sustained = step['rate']
    return {'pairs': len(pairs), 'sender_rate': SENDER_RATE, 'rates': fixed, 'ramp': ramp, 'steps': steps,
            'max_sustained_rate': sustained, 'ramp_stopped_by': _stopped_by(steps)}


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


def _arrived(current: list[Step], message: dict[str, Any]) -> None:
    arrived = time.perf_counter()
    if not current:
        return
    step = current[-1]
    fragment = (message.get('candidate') or {}).get('usernameFragment', '')
    seq = int(fragment) if fragment.isdigit() else -1
    sent = step.sent.pop(seq, None)
    if sent is not None:
        step.latencies.append((arrived - sent) * 1000)
    if step.all_sent and not step.sent:
        step.all_arrived.set()


async def _run_step(step: Step, pairs: list[Pair], current: list[Step],
                    server: ProcessFigures | Workers) -> dict[str, Any]:
    """Offer ``step.rate`` messages a second for ``step.seconds``, open loop, round-robin over senders."""
    senders = pairs[:max(1, step.rate // SENDER_RATE)]
    current.append(step)
    total = int(step.rate * step.seconds)
    cpu_before, client_before, wall_before = server.cpu_seconds(), time.process_time(), time.perf_counter()
    start = time.perf_counter() + 0.05
    seq = 0
    while seq < total:
        now = time.perf_counter()
        due = min(total, int((now - start) * step.rate) + 1)
        while seq < due:
            pair = senders[seq % len(senders)]
            step.send_lag.append((now - (start + seq / step.rate)) * 1000)
            step.sent[seq] = time.perf_counter()
            await pair.guest.sio.emit('signal', {'to': pair.host.id, 'candidate': {
                'candidate': f'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host ts {time.time():.6f}',
                'sdpMid': '0', 'sdpMLineIndex': 0, 'usernameFragment': str(seq)}})
            seq += 1
        await asyncio.sleep(0.001)
    offered_seconds = time.perf_counter() - start
    step.all_sent = True
    if step.sent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(step.all_arrived.wait(), DRAIN_SECONDS)
    wall = time.perf_counter() - wall_before
    cpu = (server.cpu_seconds() - cpu_before) / wall
    client_cpu = (time.process_time() - client_before) / wall
    current.pop()
    delivered = len(step.latencies)
    latency = summary(step.latencies)
    return {
        'rate': step.rate,
        'seconds': step.seconds,
        'senders': len(senders),
        'sent': total,
        'delivered': delivered,
        'lost': total - delivered,
        'errors': len(step.errors),
        'achieved_send_rate': round(total / offered_seconds, 1),
        'latency_ms': latency,
        'send_lag_ms': summary(step.send_lag),
        'server_cpu': round(cpu, 3),
        'client_cpu': round(client_cpu, 3),
        'sustained': delivered >= SUSTAINED_DELIVERY * total and latency['p99'] <= SUSTAINED_P99_MS
        and total / offered_seconds >= 0.95 * step.rate,
    }


def _stopped_by(steps: list[dict[str, Any]]) -> str:
    failed = [step for step in steps if not step['sustained']]
    if not failed:
        return f'nothing: every rate tried (up to {steps[-1]["rate"]}/s) was sustained' if steps else 'not run'
    last = failed[0]
    if last['achieved_send_rate'] < 0.95 * last['rate']:
        return 'the benchmark client could not send faster (its event loop fell behind)'
    if last['server_cpu'] >= 0.9:
        return f'the server saturated one core ({last["server_cpu"]:.0%} CPU)'
    return f'latency or loss ({last["latency_ms"]["p99"]:.1f} ms p99, {last["lost"]} lost; server CPU ' \
           f'{last["server_cpu"]:.0%})'


def run() -> dict[str, Any]:
    """SkyCall's relay, then the same load against the bare relay with NiceGUI's websocket implementation
    (wsproto) and with uvicorn's default one (websockets)."""
    results = asyncio.run(asyncio.wait_for(measure(), 150))
    results['across_workers'] = _or_error(lambda: asyncio.run(asyncio.wait_for(measure_across_workers(), 100)))
    results['calibration'] = {ws: _or_error(lambda ws=ws: asyncio.run(asyncio.wait_for(calibrate(ws), 60)))
                              for ws in ('wsproto', 'websockets')}
    return results


def _or_error(run: Any) -> dict[str, Any]:
    try:
        return dict(run())
    except Exception as error:  # noqa: BLE001 (calibration is optional: say why it is missing)
        return {'error': f'{type(error).__name__}: {error}'[:200]}
