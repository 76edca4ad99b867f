"""The figures against the issue's targets: a table for the terminal and a section for BENCHMARKS.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIB = 1024
KB = 1000
MB = 1000 * 1000
BUSY_CORES = 0.3  # other processes' CPU above which a benchmark's figures count as skewed
BEGIN, END = '<!-- bench:begin -->', '<!-- bench:end -->'


@dataclass(frozen=True, slots=True)
class Row:
    benchmark: str
    measure: str
    value: str
    target: str = ''
    met: bool | None = None  # None: no target, or not measured

    @property
    def status(self) -> str:
        if self.met is None:
            return 'not measured' if self.value == 'not measured' else ''
        return 'met' if self.met else 'MISSED'


def rows(results: dict[str, Any]) -> list[Row]:
    """One or more rows per benchmark that ran."""
    table: list[Row] = []
    for name, make in (('first_frame', _first_frame), ('relay', _relay), ('capacity', _capacity),
                       ('page_weight', _page_weight), ('leaks', _leaks), ('worker_death', _worker_death)):
        if name in results:
            table += make(results[name])
    return table


def _ok(result: Any) -> bool:
    return isinstance(result, dict) and 'error' not in result


def _missing(benchmark: str, result: Any) -> list[Row]:
    reason = result.get('error', '') if isinstance(result, dict) else 'not run'
    return [Row(benchmark, f'not measured: {reason}'[:100], 'not measured')]


def _first_frame(result: Any) -> list[Row]:
    name = '1. Join to first frame'
    if not _ok(result):
        return _missing(name, result)
    total = result['first_frame_ms']
    click = result['join_click_to_first_frame_ms']
    runs = f'{result["runs"]} runs'
    return [
        Row(name, f'p50, invite link opened to first frame ({runs})', f'{total["p50"]:.0f} ms', '<= 600 ms',
            total['p50'] <= 600),
        Row(name, 'p95', f'{total["p95"]:.0f} ms', '<= 1200 ms', total['p95'] <= 1200),
        Row(name, 'p50 / p95 from the click on Join', f'{click["p50"]:.0f} / {click["p95"]:.0f} ms'),
    ]


def _relay(result: Any) -> list[Row]:
    name = '2. Signaling relay'
    if not _ok(result):
        return _missing(name, result)
    table = []
    for step in result['rates']:
        latency = step['latency_ms']
        lost = f', {step["lost"]} lost' if step['lost'] else ''
        table += [
            Row(name, f'p50 at {step["rate"]}/s', f'{latency["p50"]:.2f} ms', '<= 1 ms', latency['p50'] <= 1),
            Row(name, f'p99 at {step["rate"]}/s{lost}', f'{latency["p99"]:.2f} ms', '<= 5 ms',
                latency['p99'] <= 5 and not step['lost']),
        ]
    table.append(Row(name, f'highest rate sustained (stopped by: {result["ramp_stopped_by"]})',
                     f'{result["max_sustained_rate"]}/s'))
    across = result.get('across_workers')
    if _ok(across):
        table += [Row(name, 'across two workers through Redis: p50 / p99', _latencies(across['rates'])),
                  Row(name, 'across two workers: highest rate sustained', f'{across["max_sustained_rate"]}/s')]
    elif across is not None:
        table.append(Row(name, f'across two workers: {across.get("error")}'[:100], 'not measured'))
    for ws, floor in result.get('calibration', {}).items():
        if _ok(floor):
            table.append(Row(name, f'calibration: bare python-socketio relay (uvicorn ws={ws}), p50 / p99',
                             _latencies(floor['rates'])))
    return table


def _latencies(steps: list[dict[str, Any]]) -> str:
    return ', '.join(f'{s["latency_ms"]["p50"]:.2f} / {s["latency_ms"]["p99"]:.2f} ms at {s["rate"]}/s' for s in steps)


def _capacity(result: Any) -> list[Row]:
    name = '3. Capacity'
    if not _ok(result):
        return _missing(name, result)
    per = result['bytes_per_connection']
    return [
        Row(name, f'{result["connections"]} connections: connect rate', f'{result["connect_rate_per_s"]:.0f}/s'),
        Row(name, 'seat rate (join, knock, answer, join)', f'{result["seat_rate_per_s"]:.0f}/s'),
        Row(name, f'server memory per connection ({result["alive_after_idle"]} alive after idling)',
            f'{per / KB:.1f} KB', '<= 60 KB', per <= 60 * KB),
    ] + [Row(name, f'calibration: bare python-socketio relay (uvicorn ws={ws}), memory per connection',
             f'{floor["bytes_per_connection"] / KB:.1f} KB')
         for ws, floor in result.get('calibration', {}).items() if _ok(floor)]


def _page_weight(result: Any) -> list[Row]:
    name = '4. Page weight (cold)'
    if not _ok(result):
        return _missing(name, result)
    home, call = result['home'], result['call']
    return [
        Row(name, f'/ : transferred, {home["requests"]} requests', f'{home["bytes"] / KIB:.1f} KiB'),
        Row(name, '/ : DOMContentLoaded', f'{home["dom_content_loaded_ms"]:.0f} ms'),
        Row(name, f'call page (invite link): transferred, {call["requests"]} requests',
            f'{call["bytes"] / KIB:.1f} KiB',
            '<= 350 KiB', call['bytes'] <= 350 * KIB),
        Row(name, 'call page: DOMContentLoaded', f'{call["dom_content_loaded_ms"]:.0f} ms'),
    ]


def _leaks(result: Any) -> list[Row]:
    name = '5. Leaks'
    if not _ok(result):
        return _missing(name, result)
    labels = {'leave': 'hang up', 'close_tab': 'close the tab', 'leave_again': 'hang up, again'}
    table = []
    for batch, figures in result['batches'].items():
        growth, cycles = figures['growth_bytes'], figures['cycles']
        complete = cycles >= result.get('cycles', 1000)
        table.append(Row(name, f'RSS growth over {cycles} cycles ({labels.get(batch, batch)})'
                         + ('' if complete else ': cut short by the time bound, no verdict'),
                         f'{growth / MB:+.2f} MB', '< 5 MB', growth < 5 * MB if complete else None))
    table.append(Row(name, 'RSS growth since the fresh start (incl. warm-up)',
                     f'{result["growth_since_start_bytes"] / MB:+.2f} MB'))
    return table


def _worker_death(result: Any) -> list[Row]:
    name = '6. A worker dies mid-call'
    if not _ok(result):
        return _missing(name, result)
    restored = result['restored_s']
    target = result['target_s']
    ghosts = sum(s['ghosts'] for s in result['samples'])
    return [
        Row(name, f'call whole again after the SIGKILL, p50 / max ({result["runs"]} runs)',
            f'{restored["p50"]:.1f} / {restored["max"]:.1f} s', f'<= {target:.0f} s', restored['max'] <= target),
        Row(name, 'ghosts seen; runs where the page moved to the other worker',
            f'{ghosts}; {sum(s["moved"] for s in result["samples"])} of {result["runs"]}'),
    ]


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


def markdown(results: dict[str, Any], table: list[Row]) -> str:
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
    parts += _first_frame_md(results.get('first_frame'))
    parts += _relay_md(results.get('relay'))
    parts += _capacity_md(results.get('capacity'))
    parts += _page_weight_md(results.get('page_weight'))
    parts += _leaks_md(results.get('leaks'))
    parts += _worker_death_md(results.get('worker_death'))
    return '\n'.join(parts)


def _worker_death_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 6. A worker dies mid-call', '',
             'Two workers behind HAProxy; Ada and Grace in a call; Ada\'s worker SIGKILLed. "Reloaded": Ada\'s page '
             'was moved to the other worker and reloaded there; "whole": it says Connected again (both videos '
             'decoding was checked after).', '',
             '| run | reloaded s | whole s | moved | ghosts |', '|---|---|---|---|---|']
    for i, s in enumerate(result['samples'], 1):
        moved = 'yes' if s['moved'] else 'no'
        lines.append(f'| {i} | {s["reloaded_s"]:.2f} | {s["restored_s"]:.2f} | {moved} | {s["ghosts"]} |')
    return lines


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


def _ms(s: dict[str, float]) -> str:
    return f'{s["p50"]:.0f} | {s["p95"]:.0f}'


def _first_frame_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 1. Join to first frame: where the time goes', '',
             f'{result["runs"]} runs after {result["warmup_runs"]} warm-up runs; A waits in one call, and every '
             'run is a fresh B (a new browser context). '
             f'B knocked in {result["knocked"]} runs (A\'s page clicked Answer the moment it showed; '
             f'{result["answered_by_fallback"]} answered over the socket because no button showed). '
             f'The camera finished after signaling in {result["camera_was_last"]:.0f} runs. Each run waited up to '
             f'3 s for other processes to go quiet; just before the runs they used '
             f'{result["other_cores_before_runs"]["p50"]:.2f} cores (median), '
             f'{result["other_cores_before_runs"]["max"]:.2f} at most.', '',
             'Critical path, consecutive intervals (they add up to the total):', '',
             '| phase | p50 ms | p95 ms |', '|---|---|---|']
    lines += [f'| {label} | {_ms(s)} |' for label, s in result['phases_ms'].items()]
    lines += [f'| **total** | {_ms(result["first_frame_ms"])} |',
              '', 'Milestones, ms after B opened the invite link ("A:" on the host\'s page, same clock):', '',
              '| milestone | p50 | p95 |', '|---|---|---|']
    lines += [f'| {s["label"]} | {_ms(s)} |' for s in result['milestones_ms'].values() if s['n']]
    click = result['join_click_to_first_frame_ms']
    lines += ['', f'From the click on Join to the first frame: {click["p50"]:.0f} ms (p50), '
              f'{click["p95"]:.0f} ms (p95).', '',
              'Steps of the page load, of the signaling path and of the offer/answer exchange:', '',
              '| step | p50 ms | p95 ms |', '|---|---|---|']
    lines += [f'| {label} | {_ms(s)} |' for label, s in result['steps_ms'].items() if s['n']]
    return lines


def _relay_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 2. Signaling relay', '',
             f'{result["pairs"]} rooms of two python-socketio clients; each sender at most {result["sender_rate"]} '
             'signals a second (the server allows 50). Latency is send to arrival on one clock, in one client '
             'process, so it includes both clients\' socket.io work. "Sustained": 99 % delivered, p99 under '
             '50 ms, and the clients kept up with the offered rate.', '']
    lines += _relay_steps_md(result['steps'])
    across = result.get('across_workers')
    if across is not None:
        lines += ['', 'Across two workers (guests on one, hosts on the other, Redis between them):', '']
        lines += _relay_steps_md(across['steps']) if _ok(across) else [f'not measured: {across.get("error")}']
    for ws, floor in result.get('calibration', {}).items():
        lines += ['', f'Calibration: the same clients against a bare python-socketio relay (no SkyCall: no validation, '
                  f'rate limits, store or NiceGUI middleware), uvicorn ws={ws}:', '']
        lines += _relay_steps_md(floor['steps']) if _ok(floor) else [f'not measured: {floor.get("error")}']
    return lines


def _relay_steps_md(steps: list[dict[str, Any]]) -> list[str]:
    lines = ['| offered | sent/s | p50 ms | p99 ms | max ms | lost | server CPU | client CPU | sustained |',
             '|---|---|---|---|---|---|---|---|---|']
    for step in steps:
        latency = step['latency_ms']
        lines.append(f'| {step["rate"]}/s for {step["seconds"]:.0f} s | {step["achieved_send_rate"]:.0f} | '
                     f'{latency["p50"]:.2f} | {latency["p99"]:.2f} | {latency["max"]:.1f} | {step["lost"]} | '
                     f'{step["server_cpu"]:.0%} | {step["client_cpu"]:.0%} | {"yes" if step["sustained"] else "no"} |')
    return lines


def _capacity_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 3. Capacity', '',
             f'{result["connections"]} connections from {result["addresses"]} loopback addresses, two to a room: '
             f'connected in {result["connect_seconds"]} s, seated in {result["seat_seconds"]} s more '
             f'(CPU for both: server {result["server_cpu_seconds_for_setup"]} s, benchmark client '
             f'{result["client_cpu_seconds_for_setup"]} s). Server RSS '
             f'{result["rss_before_bytes"] / MB:.1f} MB before, {result["rss_after_bytes"] / MB:.1f} MB with all '
             f'seated, {result["rss_after_disconnect_bytes"] / MB:.1f} MB after they left; idle with all connected '
             f'(pings only) the server used {result["idle_server_cpu"]:.0%} of a core.']
    for ws, floor in result.get('calibration', {}).items():
        if _ok(floor):
            lines += ['', f'Calibration, the same connections against a bare python-socketio relay (uvicorn ws={ws}): '
                      f'{floor["bytes_per_connection"] / KB:.1f} KB each, connected at '
                      f'{floor["connect_rate_per_s"]:.0f}/s, seated at {floor["seat_rate_per_s"]:.0f}/s (server CPU '
                      f'{floor["server_cpu_seconds_for_setup"]} s).']
    return lines


def _page_weight_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 4. Page weight: the heaviest requests', '']
    for name in ('home', 'call'):
        page = result[name]
        lines += [f'`{_short(page["path"])}`: {page["requests"]} requests, {page["bytes"] / KIB:.1f} KiB '
                  f'transferred ({page["decoded_bytes"] / KIB:.1f} KiB decoded), DOMContentLoaded '
                  f'{page["dom_content_loaded_ms"]:.0f} ms (median of {len(page["runs"])} cold loads); '
                  f'websockets opened: {", ".join(page["websockets"]) or "none"}. Until DOMContentLoaded: '
                  f'HTML response after {page["response_start_ms"]:.0f} ms, last script or style sheet in at '
                  f'{page["last_resource_before_dcl_ms"]:.0f} ms, main thread blocked by long tasks for '
                  f'{page["long_tasks_before_dcl_ms"]:.0f} ms.', '',
                  '| request | type | transferred KiB | decoded KiB | encoding |', '|---|---|---|---|---|']
        lines += [f'| {_short(item["path"])}{_label(item)} | {item["type"]} | {item["bytes"] / KIB:.1f} | '
                  f'{item["decoded_bytes"] / KIB:.1f} | {item["encoding"] or "none"} |' for item in page['items'][:10]]
        lines.append('')
    return lines


def _label(item: dict[str, Any]) -> str:
    return f' ({item["label"]})' if item.get('label') else ''


def _short(path: str) -> str:
    return re.sub(r'/[0-9a-f]{32}/', '/…/', re.sub(r'/(call|dial)/[A-Za-z0-9_-]{22}', r'/\1/<room>', path))


def _leaks_md(result: Any) -> list[str]:
    if not _ok(result):
        return []
    lines = ['', '### 5. Leaks', '',
             f'{result["rooms"]} rooms with a host each; RSS {result["rss_start_bytes"] / MB:.1f} MB at a fresh start, '
             f'{result["rss_after_warmup_bytes"] / MB:.1f} MB after {result["warmup_cycles"]} warm-up cycles.', '',
             '| batch | cycles | cycles/s | RSS before MB | RSS after MB | growth MB |', '|---|---|---|---|---|---|']
    for name, batch in result['batches'].items():
        lines.append(f'| {name} | {batch["cycles"]} | {batch["cycles_per_s"]} | {batch["rss_before_bytes"] / MB:.1f} | '
                     f'{batch["rss_after_bytes"] / MB:.1f} | {batch["growth_bytes"] / MB:+.2f} |')
    return lines


def update_markdown(path: Path, generated: str) -> None:
    """Replace the generated section of BENCHMARKS.md, keeping everything written by hand around it."""
    text = path.read_text() if path.exists() else f'# SkyCall benchmarks\n\n{BEGIN}\n{END}\n'
    if BEGIN not in text or END not in text:
        text = f'{text.rstrip()}\n\n{BEGIN}\n{END}\n'
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    path.write_text(f'{before}{BEGIN}\n{generated}\n{END}{after}')
