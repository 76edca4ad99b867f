"""The benchmarks' results laid out: a table for the terminal and a section for BENCHMARKS.md. Each
benchmark's rows, targets and details come from its own result (bench/results.py); nothing here knows one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .results import Outcome, Row

BUSY_CORES = 0.3  # other processes' CPU above which a benchmark's figures count as skewed
BEGIN, END = '<!-- bench:begin -->', '<!-- bench:end -->'


def rows(outcomes: dict[str, Outcome]) -> list[Row]:
    """Every benchmark's rows, in the order they ran."""
    return [row for outcome in outcomes.values() for row in outcome.rows()]


def text_table(table: list[Row]) -> str:
    header = ('benchmark', 'measure', 'value', 'target', 'status')
    cells = [header] + [(r.benchmark, r.measure, r.value, r.target, r.status) for r in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, '  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def markdown_table(table: list[Row]) -> str:
    lines = ['| benchmark | measure | value | target | status |', '|---|---|---|---|---|']
    lines += [f'| {r.benchmark} | {r.measure} | {r.value} | {r.target} | {_status_md(r.status)} |' for r in table]
    return '\n'.join(lines)


def _status_md(status: str) -> str:
    return {'MISSED': '**missed**'}.get(status, status)


def markdown(results: dict[str, Any], outcomes: dict[str, Outcome], table: list[Row]) -> str:
    """The generated part of BENCHMARKS.md: when, where, how, the table, then each benchmark's details."""
    machine = results['machine']
    parts = [
        f'Latest run: **{machine["date"]}**, `{results["command"]}`, {results["seconds"]:.0f} s in all.',
        '',
        '| machine | |',
        '|---|---|',
        f'| CPU | {machine["cpu_model"]}, nproc {machine["nproc"]} |',
        f'| memory | {machine["memory_gib"]} GiB |',
        f'| Chromium | {machine["chromium"]} (headless, fake camera and microphone) |',
        f'| Python, kernel | {machine["python"]}, Linux {machine["kernel"]} |',
        f'| code | {machine["git"]} |',
        f'| load average (1, 5, 15 min) | {machine["load_average_at_start"]} at the start, '
        f'{results.get("load_average_at_end", "?")} at the end |',
        f'| CPU used by other processes during each benchmark (cores of {machine["nproc"]}) | {busy(results)} |',
        '',
        *_busy_warning(results),
        markdown_table(table),
    ]
    for outcome in outcomes.values():
        parts += outcome.details()
    return '\n'.join(parts)


def _busy_warning(results: dict[str, Any]) -> list[str]:
    skewed = [name for name, result in results.items()
              if isinstance(result, dict) and result.get('cpu', {}).get('other_cores', 0) > BUSY_CORES]
    if not skewed:
        return []
    return [f'**Other work ran on the machine during {", ".join(skewed)}: those figures are skewed upwards '
            '(see the CPU line above); compare with a run on a quiet machine.**', '']


def busy(results: dict[str, Any]) -> str:
    """How much other work ran beside each benchmark: anything over a few tenths of a core skews it."""
    return ', '.join(f'{name} {result["cpu"]["other_cores"]:.2f}' for name, result in results.items()
                     if isinstance(result, dict) and 'cpu' in result)


def update_markdown(path: Path, generated: str) -> None:
    """Replace the generated section of BENCHMARKS.md, keeping everything written by hand around it."""
    text = path.read_text() if path.exists() else f'# SkyCall benchmarks\n\n{BEGIN}\n{END}\n'
    if BEGIN not in text or END not in text:
        text = f'{text.rstrip()}\n\n{BEGIN}\n{END}\n'
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    path.write_text(f'{before}{BEGIN}\n{generated}\n{END}{after}')
