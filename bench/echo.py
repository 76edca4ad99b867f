"""Echo sessions: the server's CPU (share of one core) and memory per test call at 640x480.

    .venv/bin/python -m bench.echo [--sessions 3] [--seconds 20]

A SkyCall server (SKYCALL_ECHO_MAX=8) in a child process; Debian's Chromium opens /echo in 1, 2, …
N fresh contexts, one after the other, with its fake 640x480 camera and microphone. After each new
session is connected and its echoed video decodes, the server process is measured over a window:
CPU seconds used / seconds elapsed (1.0 = one core busy), and its resident memory (VmRSS). The
browsers' CPU is not counted. The echoed picture's size and frame rate, as the browsers receive it,
are printed beside, so the figures are known to be for 640x480. At the end every page is closed and
the server measured again (are the sessions' resources freed?).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from skycall.testing.browser import launch
from skycall.testing.processes import SkyCallProcess

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
MiB = 1024 * 1024

# The echoed video as this page receives it (the CallView's one peer connection), from getStats.
RECEIVED_VIDEO = """async () => {
  const stage = document.querySelector('.skycall-stage');
  const [entry] = [...getElement(stage.id.slice(1)).peers.values()];
  const stats = await entry.link.pc.getStats();
  const video = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  return video ? {width: video.frameWidth, height: video.frameHeight, fps: video.framesPerSecond,
                  decoded: video.framesDecoded} : null;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sessions', type=int, default=2, help='echo sessions at the end (default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=20.0, help='measuring window (default: %(default)s)')
    args = parser.parse_args()
    rows = measure(args.sessions, args.seconds)
    print_report(rows, args.seconds)


def measure(sessions: int, seconds: float) -> list[dict[str, Any]]:
    server = SkyCallProcess(echo_max='8').start()
    rows: list[dict[str, Any]] = []
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            contexts: list[BrowserContext] = []
            pages: list[Page] = []
            warm_up(browser, server)
            rows.append(window(server, 0, pages, seconds))
            for n in range(1, sessions + 1):
                context = browser.new_context(base_url=server.url)
                contexts.append(context)
                pages.append(open_echo(context))
                rows.append(window(server, n, pages, seconds))
            for context in contexts:
                context.close()
            wait_until_idle(server)
            rows.append({**window(server, 0, [], seconds), 'label': 'all pages closed'})
            browser.close()
    finally:
        server.stop()
    return rows


def warm_up(browser: Browser, server: SkyCallProcess) -> None:
    """One short session first: aiortc is loaded with the first test call, once per worker; not counted."""
    context = browser.new_context(base_url=server.url)
    open_echo(context)
    context.close()
    wait_until_idle(server)


def open_echo(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto('/echo', wait_until='domcontentloaded')
    page.get_by_role('status').filter(has_text='Connected').wait_for(timeout=30_000)
    page.wait_for_function(f'async () => ((await ({RECEIVED_VIDEO})()) || {{}}).decoded > 30', timeout=30_000)
    return page


def window(server: SkyCallProcess, sessions: int, pages: list[Page], seconds: float) -> dict[str, Any]:
    """The server's CPU share and memory over ``seconds`` with ``sessions`` test calls running, and the
    echoed frames the browsers decoded meanwhile (so the CPU can be put per frame)."""
    decoded_before = [page.evaluate(RECEIVED_VIDEO)['decoded'] for page in pages]
    cpu_before, start = cpu_seconds(server), time.monotonic()
    time.sleep(seconds)  # a measuring window, not a synchronisation: the calls run meanwhile
    elapsed = time.monotonic() - start
    cpu = (cpu_seconds(server) - cpu_before) / elapsed
    received = [page.evaluate(RECEIVED_VIDEO) for page in pages]
    fps = sum(r['decoded'] - before for r, before in zip(received, decoded_before, strict=True)) / elapsed
    return {'label': f'{sessions} session{"s" if sessions != 1 else ""}', 'sessions': sessions, 'cpu': cpu,
            'rss': rss_bytes(server), 'received': received, 'fps': fps}


def wait_until_idle(server: SkyCallProcess, timeout: float = 30) -> None:
    """Until the server uses under 5 % of a core over a second (every session has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(server)
        time.sleep(1.0)
        if cpu_seconds(server) - before < 0.05:
            return
    raise RuntimeError('the server stayed busy after every page was closed')


def cpu_seconds(server: SkyCallProcess) -> float:
    with open(f'/proc/{server.process.pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(server: SkyCallProcess) -> int:
    with open(f'/proc/{server.process.pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmRSS')


def print_report(rows: list[dict[str, Any]], seconds: float) -> None:
    print(f'Echo sessions: SkyCall server process, {seconds:g} s windows, {os.cpu_count()} cores')
    print(f'{"":18} {"CPU (1.0 = a core)":>19} {"RSS MiB":>8} {"CPU ms/frame":>13}  echoed video (w x h @ fps)')
    idle = rows[0]
    for row in rows:
        video = ', '.join(f'{r["width"]}x{r["height"]} @ {r["fps"] or 0:.0f}' for r in row['received'] if r)
        per_frame = f'{(row["cpu"] - idle["cpu"]) * 1000 / row["fps"]:13.1f}' if row['fps'] else f'{"":13}'
        print(f'{row["label"]:18} {row["cpu"]:19.3f} {row["rss"] / MiB:8.1f} {per_frame}  {video}')
    for row in rows[1:]:
        if row['sessions']:
            print(f'{row["label"]}: per session {(row["cpu"] - idle["cpu"]) / row["sessions"]:.3f} of a core, '
                  f'{(row["rss"] - idle["rss"]) / row["sessions"] / MiB:.1f} MiB (idle worker, aiortc loaded, '
                  f'subtracted)')
    print('CPU ms/frame: server CPU above idle per echoed video frame (each frame is decoded and encoded '
          'again; the sound rides along). Fewer frames per second than sent means the machine was saturated.')


if __name__ == '__main__':
    main()
