"""The relay benchmark's load: rooms of two, each guest sending timestamped ICE candidates to its host at
a steady rate, and what arrived, how late, at each offered rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from .harness import BenchServer, Deadline, ProcessFigures, peer, summary

SENDER_RATE = 25  # messages a second per sender connection: half the server's sustained limit
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


async def steps(server: ProcessFigures | Workers, pairs: list[Pair], rates: tuple[int, ...], seconds: float,
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
