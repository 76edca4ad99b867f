"""What the benchmarks share beyond skycall.testing: a server process with its memory and CPU, a bare
python-socketio relay to calibrate against, and the ways their socket.io clients take their seats.

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
from collections.abc import Iterator, Sequence
from typing import Any

from skycall.testing.net import free_port
from skycall.testing.people import Participant
from skycall.testing.processes import LOG_DIR, ROOT, SkyCallProcess, http_ok, stop_process, wait_until

WAIT = 10.0  # seconds to wait for anything the server should do at once, under load
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


class BenchServer(ProcessFigures, SkyCallProcess):
    """``python main.py`` in a child process (``start()`` it), SKYCALL_* settings as keyword arguments.

    Its page-view budget and knock limit are lifted: a benchmark's browsers all come from 127.0.0.1, a
    crowd behind one address; ``page_burst=None`` keeps the real page budget (the bystander benchmark).
    """

    process: subprocess.Popen[bytes]

    def __init__(self, port: int | None = None, *, page_burst: str | None = '100000', **settings: str) -> None:
        super().__init__(port, host='127.0.0.1', log_dir=LOG_DIR, **settings)
        if page_burst is not None:
            self.settings['page_burst'] = page_burst
        self.settings.setdefault('knocks_per_address', '100000')  # every guest knocks from 127.0.0.1


class BaselineServer(ProcessFigures):
    """bench/baseline_server.py in a child process: a bare python-socketio relay, for calibration."""

    def __init__(self, ws: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.process = subprocess.Popen([sys.executable, '-m', 'bench.baseline_server', str(self.port), ws],  # noqa: S603
                                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: http_ok(f'{self.url}/healthz'), f'the baseline server ({ws})', process=self.process)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> BaselineServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


async def settle(server: ProcessFigures, seconds: float = 1.0) -> int:
    """Wait a moment for the server to finish what it was doing, then read its RSS."""
    await asyncio.sleep(seconds)  # a fixed pause on purpose: memory is read when the server is idle
    return server.rss_bytes()


def peer(url: str, address: str) -> Participant:
    """A benchmark's socket.io client: from ``address``, recording nothing (handlers of its own only)."""
    return Participant(url, address=address, wait=WAIT, record=False)


async def enter_room(host: Participant, guest: Participant, host_ticket: dict[str, str],
                     guest_ticket: dict[str, str]) -> None:
    """Seat ``host`` in its empty room, then ``guest`` beside it: a guest knocks and the host answers."""
    if not await host.join_or_knock(host_ticket):
        raise RuntimeError('the first person in an empty room was not seated')
    await seat_guest(host, guest, guest_ticket)


async def seat_guest(host: Participant, guest: Participant, ticket: dict[str, str]) -> None:
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
