"""Echo sessions: the server's CPU (share of one core) and memory per test call at 640x480.

A SkyCall server (SKYCALL_ECHO_MAX=8) in a child process; Debian's Chromium opens /echo in 1, 2, …
N fresh contexts, one after the other, with its fake 640x480 camera and microphone. After each new
session is connected and its echoed video decodes, the server process is measured over a window:
CPU seconds used / seconds elapsed (1.0 = one core busy), and its resident memory (VmRSS). The
browsers' CPU is not counted. The echoed picture's size and frame rate, as the browsers receive it,
are reported beside, so the figures are known to be for 640x480. At the end every page is closed and
the server measured again (are the sessions' resources freed?).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from skycall.testing.browser import launch

from .harness import BenchServer
from .results import Result, Row

MIB = 1024 * 1024
SESSIONS = 2
WINDOW_SECONDS = 20.0

# The echoed video as this page receives it (the CallView's one peer connection), from getStats.
RECEIVED_VIDEO = """async () => {
  const stage = document.querySelector('.skycall-stage');
  const [entry] = [...getElement(stage.id.slice(1)).peers.values()];
  const stats = await entry.link.pc.getStats();
  const video = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  return video ? {width: video.frameWidth, height: video.frameHeight, fps: video.framesPerSecond,
                  decoded: video.framesDecoded} : null;
}"""


@dataclass
class Echo(Result):
    """One measuring window per line: idle, with 1 … N sessions, and after every page closed."""

    title: ClassVar[str] = '7. Echo test calls'
    seconds: float
    windows: list[dict[str, Any]]

    def _per_session(self) -> tuple[int, float, float]:
        """Sessions at the most, and per session the CPU (cores) and memory (bytes) above the idle worker."""
        idle, busiest = self.windows[0], max(self.windows, key=lambda w: w['sessions'])
        n = busiest['sessions'] or 1
        return n, (busiest['cpu'] - idle['cpu']) / n, (busiest['rss'] - idle['rss']) / n

    def rows(self) -> list[Row]:
        n, cpu, rss = self._per_session()
        closed = self.windows[-1]
        return [
            Row(self.title, f'server CPU per session at 640x480 ({n} at once)', f'{cpu:.2f} of a core'),
            Row(self.title, 'server memory per session', f'{rss / MIB:.1f} MiB'),
            Row(self.title, 'server CPU once every page closed', f'{closed["cpu"]:.3f} of a core'),
        ]

    def details(self) -> list[str]:
        lines = ['', '### 7. Echo test calls', '',
                 f'The server process over {self.seconds:g} s windows (idle worker with aiortc loaded, then one '
                 'more session each time, then every page closed). CPU ms/frame: server CPU above idle per '
                 'echoed video frame (each frame is decoded and encoded again; the sound rides along).', '',
                 '| window | CPU (1.0 = a core) | RSS MiB | CPU ms/frame | echoed video (w x h @ fps) |',
                 '|---|---|---|---|---|']
        idle = self.windows[0]
        for w in self.windows:
            video = ', '.join(f'{r["width"]}x{r["height"]} @ {r["fps"] or 0:.0f}' for r in w['received'] if r)
            per_frame = f'{(w["cpu"] - idle["cpu"]) * 1000 / w["fps"]:.1f}' if w['fps'] else ''
            lines.append(f'| {w["label"]} | {w["cpu"]:.3f} | {w["rss"] / MIB:.1f} | {per_frame} | {video} |')
        return lines


def run(sessions: int = SESSIONS, seconds: float = WINDOW_SECONDS) -> Echo:
    windows: list[dict[str, Any]] = []
    # Loopback and private addresses only on a bench machine: the echo peer must be allowed to probe them.
    with BenchServer(echo_max='8', allow_private_candidates='true').start() as server, sync_playwright() as pw:
        browser = launch(pw)
        contexts: list[BrowserContext] = []
        pages: list[Page] = []
        warm_up(browser, server)
        windows.append(window(server, 0, pages, seconds))
        for n in range(1, sessions + 1):
            context = browser.new_context(base_url=server.url, extra_http_headers=person_at(n))
            contexts.append(context)
            pages.append(open_echo(context))
            windows.append(window(server, n, pages, seconds))
        for context in contexts:
            context.close()
        wait_until_idle(server)
        windows.append({**window(server, 0, [], seconds), 'label': 'all pages closed'})
        browser.close()
    return Echo(seconds=seconds, windows=windows)


def warm_up(browser: Browser, server: BenchServer) -> None:
    """One short session first: aiortc is loaded with the first test call, once per worker; not counted."""
    context = browser.new_context(base_url=server.url, extra_http_headers=person_at(0))
    open_echo(context)
    context.close()
    wait_until_idle(server)


def person_at(n: int) -> dict[str, str]:
    """Each page as if from its own address (the server trusts X-Forwarded-For from loopback, as from a
    proxy): the echo line has one session per address, so pages from one address would replace each other."""
    return {'X-Forwarded-For': f'198.51.100.{n + 1}'}


def open_echo(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto('/echo', wait_until='domcontentloaded')
    page.get_by_role('status').filter(has_text='Connected').wait_for(timeout=30_000)
    page.wait_for_function(f'async () => ((await ({RECEIVED_VIDEO})()) || {{}}).decoded > 30', timeout=30_000)
    return page


def window(server: BenchServer, sessions: int, pages: list[Page], seconds: float) -> dict[str, Any]:
    """The server's CPU share and memory over ``seconds`` with ``sessions`` test calls running, and the
    echoed frames the browsers decoded meanwhile (so the CPU can be put per frame)."""
    decoded_before = [page.evaluate(RECEIVED_VIDEO)['decoded'] for page in pages]
    cpu_before, start = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)  # a measuring window, not a synchronisation: the calls run meanwhile
    elapsed = time.monotonic() - start
    cpu = (server.cpu_seconds() - cpu_before) / elapsed
    received = [page.evaluate(RECEIVED_VIDEO) for page in pages]
    fps = sum(r['decoded'] - before for r, before in zip(received, decoded_before, strict=True)) / elapsed
    return {'label': f'{sessions} session{"s" if sessions != 1 else ""}', 'sessions': sessions, 'cpu': cpu,
            'rss': server.rss_bytes(), 'received': received, 'fps': fps}


def wait_until_idle(server: BenchServer, timeout: float = 30) -> None:
    """Until the server uses under 5 % of a core over a second (every session has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1.0)
        if server.cpu_seconds() - before < 0.05:
            return
    raise RuntimeError('the server stayed busy after every page was closed')
