"""A bystander's signal delay while someone else abuses the server (issue 11: one abuser must not slow
other people's calls).

One SkyCall worker (in-memory store). Two python-socketio clients, each from its own loopback address,
sit in one room and send each other ICE-candidate `signal` messages with their send time, RATE a second
each way, as bench/relay.py does; delay is send to arrival on one clock, in this process. The phases run
one after the other on that clock, PHASE_SECONDS each: quiet, then abuse from other processes
(bench/abuser.py, from loopback addresses of their own): a cookieless page-view flood of another room's
invite page, / and /healthz; engine.io sockets opened and dropped or refused at a malformed or binary
frame; both at once; then quiet again, to see that nothing lingers. Each abuser stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import socketio

from skycall.testing.api import Api
from skycall.testing.net import loopback_addresses
from skycall.testing.people import Participant
from skycall.testing.processes import ROOT

from .harness import BenchServer, enter_room, peer, summary
from .results import Result, Row

RATE = 20  # signals a second each way: modest (a call trickles a few dozen candidates; the server allows 50/s)
PHASE_SECONDS = 10.0
AFTER_SECONDS = 5.0  # the quiet phase after the abuse
DRAIN_SECONDS = 2.0  # how long a late signal may still arrive after a phase
TARGET_P99_MS = 50.0
ABUSER_ADDRESSES = 3  # per abuser process
# name, what it is called in the table, the abuser processes it runs (bench/abuser.py's kinds)
PHASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ('quiet', 'quiet (no abuse)', ()),
    ('pages', 'cookieless page-view flood', ('pages',)),
    ('sockets', 'socket flood: bare, malformed, binary', ('sockets',)),
    ('both', 'both floods at once', ('pages', 'sockets')),
    ('after', 'quiet again, after the floods', ()),
)


@dataclass
class Bystander(Result):
    """Each phase's delays (``delay_ms``), losses, server CPU, and what each abuser achieved."""

    title: ClassVar[str] = '8. Bystander under abuse'
    rate: int
    phases: list[dict[str, Any]]

    def rows(self) -> list[Row]:
        table = []
        for phase in self.phases:
            delay, lost = phase['delay_ms'], _lost(phase)
            if not phase['abusers']:
                if phase['name'] == 'quiet':
                    table.append(Row(self.title, f'bystander signal delay, quiet: p50 / p99 / max{lost}',
                                     f'{delay["p50"]:.1f} / {delay["p99"]:.1f} / {delay["max"]:.0f} ms'))
                continue
            table.append(Row(self.title, f'bystander signal delay under abuse: p99 ({phase["label"]}, '
                             f'{_pushed(phase["abusers"])}){lost}', f'{delay["p99"]:.1f} ms',
                             f'<= {TARGET_P99_MS:.0f} ms', delay['p99'] <= TARGET_P99_MS and not lost))
        return table

    def details(self) -> list[str]:
        lines = ['', f'### {self.title}', '',
                 f'Two clients in one room send each other {self.rate} signals a second each way; the abuse comes '
                 'from other processes (bench/abuser.py, at a lower priority: elsewhere it would not share the '
                 'server\'s cores) on loopback addresses of their own. "Send lag": how late this process\'s own '
                 'sending loop ran, the part of a delay the benchmark\'s client is to blame for.', '',
                 '| phase | abuse achieved | sent | lost | dropped | p50 ms | p99 ms | max ms | server CPU '
                 '| send lag p99 ms |', '|---|---|---|---|---|---|---|---|---|---|']
        for phase in self.phases:
            delay, dropped = phase['delay_ms'], ', '.join(phase['dropped']) or '-'
            lines.append(f'| {phase["label"]} | {_pushed(phase["abusers"], detailed=True) or "-"} | {phase["sent"]} '
                         f'| {phase["lost"]} | {dropped} | {delay["p50"]:.1f} | {delay["p99"]:.1f} '
                         f'| {delay["max"]:.0f} | {phase["server_cpu"]:.0%} | {phase["send_lag_ms"]["p99"]:.1f} |')
        return lines


def _lost(phase: dict[str, Any]) -> str:
    """What the bystanders lost in a phase, for the row's measure ('' when nothing)."""
    parts = [f'{phase["lost"]} signals lost'] if phase['lost'] else []
    if phase['dropped']:
        parts.append(f'dropped from the call ({", ".join(sorted(set(phase["dropped"])))}), '
                     f'{phase["unsent"]} signals not sent')
    return ''.join(f', {part}' for part in parts)


def _pushed(abusers: list[dict[str, Any]], detailed: bool = False) -> str:
    """What the abusers achieved: ``120 pages/s`` (and, ``detailed``, how the server answered)."""
    parts = []
    for abuser in abusers:
        text = f'{abuser["rate"]:.0f} {"pages" if abuser["kind"] == "pages" else "sockets"}/s'
        if detailed:
            text += ' (' + ', '.join(f'{n} {outcome}' for outcome, n in sorted(abuser['outcomes'].items())) + ')'
        parts.append(text)
    return ' + '.join(parts)


class Bystanders:
    """Two people in a call, from addresses of their own, and their signals: what was sent when, and how late
    each arrived. Should the server drop them, they are seated again, in a new room, before the next phase."""

    def __init__(self, server: BenchServer, api: Api, addresses: list[str]) -> None:
        self.server, self.api, self.addresses = server, api, addresses
        self.people: list[Participant] = []
        self.sent: dict[int, float] = {}
        self.delays: list[float] = []
        self.send_lag: list[float] = []
        self.errors = 0
        self.dropped: list[str] = []  # why the server disconnected them, since the last phase ended
        self.leaving = False
        self.done = asyncio.Event()
        self.sending = False
        self.seq = 0  # across phases: a signal that arrives after its phase's drain is not taken for a new one

    def seated(self) -> bool:
        return len(self.people) == 2 and all(person.sio.connected for person in self.people)

    async def seat(self) -> bool:
        """Seat them, unless both still sit in their call; True when they had to be seated (again)."""
        if self.seated():
            return False
        await self.close()
        room = await self.api.create_room(self.addresses[0])
        tickets = [await self.api.ticket(room, name, address) for name, address in zip(('Host', 'Guest'),
                                                                                         self.addresses, strict=True)]
        self.people = [peer(self.server.url, address) for address in self.addresses]
        for person in self.people:
            person.on('signal', self._arrived)
            person.on('error', self._error)
            person.on('disconnect', lambda reason=None, person=person: self._gone(person, reason))
            await person.connect()
        host, guest = self.people
        await enter_room(host, guest, tickets[0], tickets[1])
        return True

    async def close(self) -> None:
        self.leaving = True
        await asyncio.gather(*(person.close() for person in self.people))
        self.people, self.leaving = [], False

    def _gone(self, person: Participant, reason: Any) -> None:
        person.gone.set()  # what Participant's own handler does, which this one replaces
        if not self.leaving:
            self.dropped.append(str(reason))

    def _arrived(self, message: dict[str, Any]) -> None:
        arrived = time.perf_counter()
        fragment = (message.get('candidate') or {}).get('usernameFragment', '')
        sent = self.sent.pop(int(fragment), None) if fragment.isdigit() else None
        if sent is not None:
            self.delays.append((arrived - sent) * 1000)
        if not self.sending and not self.sent:
            self.done.set()

    def _error(self, _error: Any) -> None:
        self.errors += 1

    async def run(self, seconds: float) -> dict[str, Any]:
        """Send for ``seconds``, open loop, alternately each way (until the server drops them); then wait for
        the last ones to arrive."""
        self.sent.clear()
        self.delays, self.send_lag, self.errors = [], [], 0
        self.done.clear()
        self.sending = True
        rate = 2 * RATE
        total = int(rate * seconds)
        start = time.perf_counter()
        n = 0
        while n < total and self.seated():
            now = time.perf_counter()
            while n < min(total, int((now - start) * rate) + 1) and self.seated():
                sender, to = self.people if n % 2 else reversed(self.people)
                self.send_lag.append((now - (start + n / rate)) * 1000)
                self.seq += 1
                self.sent[self.seq] = time.perf_counter()
                with contextlib.suppress(socketio.exceptions.SocketIOError):  # dropped meanwhile
                    await sender.sio.emit('signal', {'to': to.id, 'candidate': {
                        'candidate': f'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host ts {time.time():.6f}',
                        'sdpMid': '0', 'sdpMLineIndex': 0, 'usernameFragment': str(self.seq)}})
                n += 1
            await asyncio.sleep(0.005)
        sending_seconds = time.perf_counter() - start
        self.sending = False
        if self.sent and self.seated():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), DRAIN_SECONDS)
        lost, dropped = len(self.sent), self.dropped
        self.sent.clear()
        self.dropped = []
        return {'sent': n, 'unsent': total - n, 'lost': lost, 'errors': self.errors, 'dropped': dropped,
                'sending_seconds': round(sending_seconds, 2), 'delay_ms': summary(self.delays),
                'send_lag_ms': summary(self.send_lag)}


class Abuser:
    """One bench/abuser.py process, running for a bounded time."""

    def __init__(self, process: asyncio.subprocess.Process, kind: str) -> None:
        self.process, self.kind = process, kind

    @classmethod
    async def start(cls, kind: str, url: str, room: str, seconds: float, addresses: list[str]) -> Abuser:
        """Start it and return once it says it has begun."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, '-m', 'bench.abuser', kind, url, room, str(seconds), *addresses, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        abuser = cls(process, kind)
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if line.strip() != b'started':
                raise RuntimeError(f'the {kind} abuser did not start: {(line + await abuser._rest()).decode()[-500:]}')
        except BaseException:
            await abuser.stop()
            raise
        return abuser

    async def finish(self, within: float) -> dict[str, Any]:
        """What it achieved, from its last line of JSON, once it has stopped by itself (within ``within`` s)."""
        try:
            output = (await asyncio.wait_for(self._rest(), within)).decode()
        except TimeoutError:
            raise RuntimeError(f'the {self.kind} abuser did not stop by itself') from None
        reports = [line for line in output.splitlines() if line.startswith('{')]
        if await self.process.wait() != 0 or not reports:
            raise RuntimeError(f'the {self.kind} abuser failed: {output[-500:]}')
        return dict(json.loads(reports[-1]))

    async def _rest(self) -> bytes:
        assert self.process.stdout is not None
        return await self.process.stdout.read()

    async def stop(self) -> None:
        """Kill it, if it is still running (it stops by itself unless something went wrong)."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def _phase(server: BenchServer, bystanders: Bystanders, name: str, label: str, kinds: tuple[str, ...],
                 room: str, addresses: list[list[str]]) -> dict[str, Any]:
    """One phase: the abusers started (each from its own addresses), the bystanders' signals meanwhile."""
    seconds = AFTER_SECONDS if name == 'after' else PHASE_SECONDS
    reseated = await bystanders.seat()
    abusers: list[Abuser] = []
    try:
        for n, kind in enumerate(kinds):  # each outlasts the phase a little: the whole phase is under abuse
            abusers.append(await Abuser.start(kind, server.url, room, seconds + 0.5, addresses[n]))
        cpu, wall = server.cpu_seconds(), time.perf_counter()
        figures = await bystanders.run(seconds)
        server_cpu = (server.cpu_seconds() - cpu) / (time.perf_counter() - wall)
        achieved = [await abuser.finish(within=30) for abuser in abusers]
    finally:
        for abuser in abusers:
            await abuser.stop()
    return {'name': name, 'label': label, 'seconds': seconds, 'reseated': reseated, **figures,
            'server_cpu': round(server_cpu, 3), 'abusers': achieved}


async def measure() -> Bystander:
    with BenchServer(page_burst=None).start() as server:  # the real page-view budget: it is what is measured
        addresses = loopback_addresses(2 + 2 * ABUSER_ADDRESSES)
        abuser_addresses = [addresses[2:2 + ABUSER_ADDRESSES], addresses[2 + ABUSER_ADDRESSES:]]
        async with Api(server.url) as api:
            abused_room = await api.create_room(abuser_addresses[0][0])  # the flood's invite page: a real room
            # A worker that has served pages before, as a real one has: its first page build (imports, the
            # first render) takes about 200 ms, which is not what an abuser costs.
            async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=10) as http:
                (await http.get(f'/dial/{abused_room}')).raise_for_status()
            bystanders = Bystanders(server, api, addresses[:2])
            try:
                await bystanders.seat()
                await bystanders.run(1.0)  # warm-up, discarded
                phases = [await _phase(server, bystanders, name, label, kinds, abused_room, abuser_addresses)
                          for name, label, kinds in PHASES]
            finally:
                await bystanders.close()
    return Bystander(rate=RATE, phases=phases)


def run() -> Bystander:
    return asyncio.run(asyncio.wait_for(measure(), 150))
