"""Leaks: the server's memory after 1,000 join-and-leave cycles, against the start.

A host sits in each of ROOMS rooms. One cycle is a guest connecting, joining (it knocks, the host
answers, it joins again and is seated), and going away. Two batches of cycles run one after the other:
guests that hang up (`leave`, then disconnect) and guests that close the tab (disconnect only).
Memory is the server's VmRSS after a pause: at a fresh start, after a warm-up batch, and after each
batch; the growth over a batch is what the target is about. A second batch of hang-ups at the end
tells a leak (it grows again) from the allocator settling (it does not).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from skycall.testing.api import Api
from skycall.testing.net import loopback_addresses
from skycall.testing.people import Participant

from .harness import BenchServer, Deadline, peer, seat_guest, settle
from .results import MB, Result, Row

ROOMS = 20
CYCLES = 1000
WARMUP_CYCLES = 200
CYCLES_PER_ADDRESS = 14  # two joins each: 28 joins, under the server's 30 a minute per address
BATCHES = (('leave', True), ('close_tab', False), ('leave_again', True))


@dataclass
class Leaks(Result):
    """The server's RSS at a fresh start, after the warm-up, and before and after each batch of cycles."""

    title: ClassVar[str] = '5. Leaks'
    rooms: int
    cycles: int
    warmup_cycles: int
    rss_start_bytes: int
    rss_after_warmup_bytes: int
    batches: dict[str, dict[str, Any]]
    growth_since_start_bytes: int

    def rows(self) -> list[Row]:
        labels = {'leave': 'hang up', 'close_tab': 'close the tab', 'leave_again': 'hang up, again'}
        table = []
        for batch, figures in self.batches.items():
            growth, cycles = figures['growth_bytes'], figures['cycles']
            complete = cycles >= self.cycles
            table.append(Row(self.title, f'RSS growth over {cycles} cycles ({labels.get(batch, batch)})'
                             + ('' if complete else ': cut short by the time bound, no verdict'),
                             f'{growth / MB:+.2f} MB', '< 5 MB', growth < 5 * MB if complete else None))
        table.append(Row(self.title, 'RSS growth since the fresh start (incl. warm-up)',
                         f'{self.growth_since_start_bytes / MB:+.2f} MB'))
        return table

    def details(self) -> list[str]:
        lines = ['', '### 5. Leaks', '',
                 f'{self.rooms} rooms with a host each; RSS {self.rss_start_bytes / MB:.1f} MB at a fresh start, '
                 f'{self.rss_after_warmup_bytes / MB:.1f} MB after {self.warmup_cycles} warm-up cycles.', '',
                 '| batch | cycles | cycles/s | RSS before MB | RSS after MB | growth MB |',
                 '|---|---|---|---|---|---|']
        for name, batch in self.batches.items():
            lines.append(f'| {name} | {batch["cycles"]} | {batch["cycles_per_s"]} | '
                         f'{batch["rss_before_bytes"] / MB:.1f} | {batch["rss_after_bytes"] / MB:.1f} | '
                         f'{batch["growth_bytes"] / MB:+.2f} |')
        return lines


async def measure(cycles: int = CYCLES, time_bound: float = 150.0) -> Leaks:
    deadline = Deadline(time_bound)
    with BenchServer().start() as server:
        api = Api(server.url)
        rss_start = await settle(server, 1.0)
        hosts = await _hosts(api, server)
        address_pool = iter(loopback_addresses(
            sum(-(-n // CYCLES_PER_ADDRESS) for n in [WARMUP_CYCLES] + [cycles] * len(BATCHES)), first=10))
        await _batch(api, server, hosts, WARMUP_CYCLES, address_pool, hang_up=True, deadline=deadline)
        rss_warm = await settle(server, 2.0)
        batches = {}
        rss_before = rss_warm
        for name, hang_up in BATCHES:
            started = time.perf_counter()
            done = await _batch(api, server, hosts, cycles, address_pool, hang_up=hang_up, deadline=deadline)
            seconds = time.perf_counter() - started
            rss_after = await settle(server, 2.0)
            batches[name] = {'cycles': done, 'seconds': round(seconds, 2), 'cycles_per_s': round(done / seconds, 1),
                             'rss_before_bytes': rss_before, 'rss_after_bytes': rss_after,
                             'growth_bytes': rss_after - rss_before}
            rss_before = rss_after
        await asyncio.gather(*(host.close() for host, _ in hosts))
        await api.close()
    return Leaks(rooms=ROOMS, cycles=cycles, warmup_cycles=WARMUP_CYCLES, rss_start_bytes=rss_start,
                 rss_after_warmup_bytes=rss_warm, batches=batches, growth_since_start_bytes=rss_before - rss_start)


async def _hosts(api: Api, server: BenchServer) -> list[tuple[Participant, str]]:
    """ROOMS rooms, each with its host seated; returns (host, room)."""
    address = '127.0.0.2'
    hosts = []
    for _ in range(ROOMS):
        room = await api.create_room(address)
        host = peer(server.url, address)
        await host.connect()
        if not await host.join_or_knock(await api.ticket(room, 'Host', address)):
            raise RuntimeError('a host in an empty room was not seated')
        hosts.append((host, room))
    return hosts


async def _batch(api: Api, server: BenchServer, hosts: list[tuple[Participant, str]], cycles: int,
                 addresses: Any, hang_up: bool, deadline: Deadline) -> int:
    """``cycles`` guest visits, one room at a time per host, all hosts at once; returns how many ran."""
    per_room = cycles // len(hosts)
    batch_addresses = [next(addresses) for _ in range(-(-cycles // CYCLES_PER_ADDRESS))]
    done = 0

    async def visits(index: int, host: Participant, room: str) -> None:
        nonlocal done
        for visit in range(per_room):
            if deadline.passed():
                return
            n = index * per_room + visit
            address = batch_addresses[n // CYCLES_PER_ADDRESS]
            guest = peer(server.url, address)
            ticket = await api.ticket(room, 'Guest', address)
            await guest.connect()
            await seat_guest(host, guest, ticket)
            if hang_up:
                await guest.hangs_up()
            await guest.close()
            await host.saw_leave(ticket['peer'])  # the seat is free again before the next guest comes
            done += 1

    await asyncio.gather(*(visits(index, host, room) for index, (host, room) in enumerate(hosts)))
    return done


def run() -> Leaks:
    return asyncio.run(measure())
