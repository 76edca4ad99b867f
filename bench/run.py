"""``make bench`` (``python -m bench``): run the benchmarks, print the table, write the figures.

Writes bench/results/latest.json (and a dated copy beside it) and the generated section of
BENCHMARKS.md. ``--only`` runs some benchmarks and writes bench/results/partial.json only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import bystander, capacity, echo, first_frame, leaks, machine, page_weight, relay, report, worker_death
from .results import Failed, Outcome, Result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
BENCHMARKS_MD = ROOT / 'BENCHMARKS.md'

QUIET_WAIT_SECONDS = 90.0  # in all, waiting for other work on the machine to stop before a benchmark
# Each: how to run it, and the result it returns (whose title names it in the table, even when it fails).
BENCHMARKS: dict[str, tuple[Callable[[], Result], type[Result]]] = {
    'first_frame': (first_frame.run, first_frame.FirstFrame),
    'relay': (relay.run, relay.Relay),
    'capacity': (capacity.run, capacity.Capacity),
    'page_weight': (page_weight.run, page_weight.PageWeight),
    'leaks': (leaks.run, leaks.Leaks),
    'worker_death': (worker_death.run, worker_death.WorkerDeath),
    'echo': (echo.run, echo.Echo),
    'bystander': (bystander.run, bystander.Bystander),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m bench', description=__doc__)
    parser.add_argument('--only', default='', help=f'comma-separated, from: {", ".join(BENCHMARKS)}')
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(',') if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f'unknown benchmark(s): {", ".join(unknown)}')

    started = time.monotonic()
    results: dict[str, Any] = {'machine': machine.describe(), 'command': 'make bench' if not args.only else
                               f'python -m bench --only {",".join(chosen)}'}
    wait_budget = [QUIET_WAIT_SECONDS]
    outcomes: dict[str, Outcome] = {}
    for name in chosen:
        outcomes[name], results[name] = _run(name, *BENCHMARKS[name], wait_budget)
    results['seconds'] = round(time.monotonic() - started, 1)
    results['load_average_at_end'] = machine.load_average()
    table = report.rows(outcomes)
    results['table'] = [{'benchmark': r.benchmark, 'measure': r.measure, 'value': r.value, 'target': r.target,
                         'status': r.status} for r in table]

    print()
    print(report.text_table(table))
    print(f'\nCPU used by other processes during each benchmark (cores): {report.busy(results)}')
    if any(results[name]['cpu']['other_cores'] > report.BUSY_CORES for name in chosen):
        print('Other work ran on this machine meanwhile: the figures above are skewed by it.')
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.only:
        _write(RESULTS / 'partial.json', results)
    else:
        _write(RESULTS / 'latest.json', results)
        _write(RESULTS / f'{time.strftime("%Y%m%d-%H%M%S")}.json', results)
        report.update_markdown(BENCHMARKS_MD, report.markdown(results, outcomes, table))
        print(f'\nFigures: {(RESULTS / "latest.json").relative_to(ROOT)} and {BENCHMARKS_MD.name}')
    missed = [r for r in table if r.status == 'MISSED']
    print(f'{len(missed)} target(s) missed; {sum(r.status == "not measured" for r in table)} not measured. '
          f'{results["seconds"]:.0f} s.')
    return 0  # benchmarks report; they do not fail a build


def _run(name: str, benchmark: Callable[[], Result], kind: type[Result],
         wait_budget: list[float]) -> tuple[Outcome, dict[str, Any]]:
    """One benchmark, once the machine is quiet (or the wait budget is spent): its outcome, and its figures
    with the machine's CPU beside them. A failure is recorded as its outcome so that the others still run."""
    quiet = machine.wait_until_quiet(max_seconds=max(0.0, wait_budget[0]))
    wait_budget[0] -= quiet['waited_seconds']
    print(f'[bench] {name} … (other processes used {quiet["other_cores"]} cores)', file=sys.stderr, flush=True)
    started = time.monotonic()
    watch = machine.CpuWatch()
    outcome: Outcome
    try:
        outcome = benchmark()
    except Exception as error:  # noqa: BLE001 (any failure: record it, go on with the next benchmark)
        traceback.print_exc()
        outcome = Failed(kind.title, f'{type(error).__name__}: {error}'.splitlines()[0][:300])
    result = outcome.figures()
    result['cpu'] = watch.read()
    watch.stop()
    result['other_cores_before'] = quiet['other_cores']
    result['elapsed_seconds'] = round(time.monotonic() - started, 1)
    print(f'[bench] {name} done in {result["elapsed_seconds"]} s; CPU cores used: {result["cpu"]}',
          file=sys.stderr, flush=True)
    return outcome, result


def _write(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + '\n')
