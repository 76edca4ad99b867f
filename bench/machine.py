"""The machine and the code the figures came from."""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def describe() -> dict[str, Any]:
    return {
        'date': datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'),
        'nproc': os.cpu_count(),
        'memory_gib': round(_meminfo('MemTotal') / 1024 / 1024, 1),
        'cpu_model': _cpu_model(),
        'chromium': _last_line(_command(['/usr/bin/chromium', '--version'])),
        'python': platform.python_version(),
        'kernel': platform.release(),
        'git': _git(),
        'load_average_at_start': load_average(),
    }


def load_average() -> str:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    return ' '.join(Path('/proc/loadavg').read_text().split()[:3])


def _meminfo(field: str) -> int:
    for line in Path('/proc/meminfo').read_text().splitlines():
        if line.startswith(f'{field}:'):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown'


def _git() -> str:
    commit = _command(['git', '-C', str(ROOT), 'rev-parse', '--short', 'HEAD'])
    dirty = _command(['git', '-C', str(ROOT), 'status', '--porcelain', '--', 'skycall', 'main.py', 'pyproject.toml'])
    return f'{commit} plus uncommitted changes to the app' if dirty else commit


def _last_line(text: str) -> str:
    lines = text.splitlines()
    return lines[-1] if lines else ''


def _command(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False).stdout.strip()  # noqa: S603
    except OSError:
        return ''


class CpuWatch:
    """CPU used over a stretch of time: by the whole machine, by this process and its descendants
    (the servers, Chromium, Playwright's driver), and so by everything else.

    A process that ends takes its CPU time with it (Playwright's driver does not reap Chromium in a way
    that adds it to its own), so a background thread looks at the tree every SAMPLE_SECONDS and
    remembers the last figure of every process it saw: a browser closed before ``read`` still counts.
    """

    SAMPLE_SECONDS = 0.25

    def __init__(self) -> None:
        self._seen: dict[tuple[int, int], int] = {}  # (pid, start time) -> its utime + stime, last seen
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._start = self._sample()
        self._thread = threading.Thread(target=self._watch, name='cpu-watch', daemon=True)
        self._thread.start()

    def read(self) -> dict[str, float]:
        """Average cores busy since the watch started (or was last read)."""
        end = self._sample()
        wall = end[0] - self._start[0]
        machine_cores = (end[1] - self._start[1]) / CLOCK_TICKS / wall
        mine_cores = (end[2] - self._start[2]) / CLOCK_TICKS / wall
        self._start = end
        return {'machine_cores': round(machine_cores, 2), 'bench_cores': round(mine_cores, 2),
                'other_cores': round(max(0.0, machine_cores - mine_cores), 2)}

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stopped.wait(self.SAMPLE_SECONDS):
            self._sample()

    def _sample(self) -> tuple[float, int, int]:
        fields = Path('/proc/stat').read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        with self._lock:
            self._seen.update(_tree_ticks(os.getpid()))
            mine = sum(self._seen.values())
        return time.monotonic(), user + nice + system + irq + softirq + steal, mine


def wait_until_quiet(threshold_cores: float = 0.3, max_seconds: float = 60.0, window: float = 2.0) -> dict[str, float]:
    """Wait (at most ``max_seconds``) until other processes use less than ``threshold_cores``.

    Other work on a 2-core machine (a test run, a browser) skews every figure; the benchmarks say
    how busy the machine was rather than pretend it was idle.
    """
    started = time.monotonic()
    watch = CpuWatch()
    while True:
        time.sleep(window)  # a sampling window, not a wait for a condition that could be signalled
        reading = watch.read()
        waited = time.monotonic() - started
        if reading['other_cores'] < threshold_cores or waited >= max_seconds:
            watch.stop()
            return {'other_cores': reading['other_cores'], 'waited_seconds': round(waited, 1)}


def _tree_ticks(root: int) -> dict[tuple[int, int], int]:
    """utime + stime of ``root`` and each of its live descendants, by (pid, start time)."""
    parents: dict[int, int] = {}
    ticks: dict[int, tuple[tuple[int, int], int]] = {}
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        ticks[pid] = ((pid, int(fields[19])), int(fields[11]) + int(fields[12]))  # starttime; utime, stime
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: dict[tuple[int, int], int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in ticks:
            key, value = ticks[pid]
            found[key] = value
        todo += children.get(pid, [])
    return found
