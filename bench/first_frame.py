"""Join to first frame: A waits in a call; B opens the invite link, gives a name and clicks Join.

Measured from B opening the invite link (the navigation: its performance.timeOrigin) to the first
frame of A's video presented on B's page (requestVideoFrameCallback), with marks in between taken from
outside the app by bench/instrument.js. The invite page is the call page behind a name dialog, so the
total holds one page load and the benchmark typing the name and clicking Join (a few tens of ms; no
person's typing time). A stays in one call throughout; every run is a fresh B (a new browser context:
cold cache, as a person who opens an invite for the first time), in one long-lived Chromium. B closes
its tab after each run.

When B knocks (someone is already in the call), A's page clicks Answer the moment the popup shows:
the figures hold the machine's part of answering and none of a person's reaction time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from skycall.testing.api import Api
from skycall.testing.browser import launch
from skycall.testing.call_steps import dial

from . import machine
from .harness import BenchServer, summary
from .results import Result, Row, ms

INSTRUMENT = (Path(__file__).parent / 'instrument.js').read_text()
AUTO_ANSWER = 'window.__benchAutoAnswer = true;'
TIMEOUT_MS = 20_000
# Before each run, wait (a little) for other processes on the machine to go quiet: a browser test
# running beside a call skews it by hundreds of milliseconds.
QUIET_CORES = 0.3
RUN_QUIET_WAIT = 3.0

# B's milestones, ms after B opened the invite link ("host." ones happen on A's page).
MILESTONES = [
    ('responseStart', 'HTML response starts (server rendered the page)'),
    ('cameraRequested', 'camera and signaling start (the page\'s early script)'),
    ('domContentLoaded', 'page loaded (DOMContentLoaded)'),
    ('joinClick', 'name typed, Join clicked (by the benchmark)'),
    ('joinSent', 'join sent'),
    ('signalingSocketOpen', 'signaling websocket open'),
    ('signalingConnected', 'socket.io connected'),
    ('cameraReady', 'camera ready (getUserMedia resolved)'),
    ('knocking', 'join acknowledged: knocking'),
    ('host.knockReceived', 'A: knock arrives'),
    ('host.answerButtonShown', 'A: Answer button shows (clicked at once)'),
    ('host.answerKnockSent', 'A: answer sent'),
    ('admitted', 'B admitted'),
    ('joined', 'signaling joined (seated)'),
    ('offerSent', 'offer sent'),
    ('host.offerReceived', 'A: offer arrives'),
    ('host.answerSent', 'A: answer SDP sent'),
    ('answerReceived', 'answer received'),
    ('iceConnected', 'ICE connected'),
    ('peerConnected', 'DTLS done (connectionState connected)'),
    ('videoTrack', 'remote video track (ontrack)'),
    ('firstFrame', 'first frame of A on screen'),
]

# The critical path as consecutive intervals: they add up to the total.
PHASES = [
    ('page loaded', None, 'domContentLoaded'),
    ('name typed and Join clicked (by the benchmark)', 'domContentLoaded', 'joinClick'),
    ('camera ready and signaling joined (in parallel; the later one counts)', 'joinClick', 'readyToOffer'),
    ('offer created', 'readyToOffer', 'offerSent'),
    ('offer/answer exchanged', 'offerSent', 'answerReceived'),
    ('ICE connected', 'answerReceived', 'iceConnected'),
    ('first frame (DTLS, first keyframe, decode)', 'iceConnected', 'firstFrame'),
]

# The signaling side path in detail, and the camera beside it.
SIGNALING_STEPS = [
    ('started -> websocket open', 'cameraRequested', 'signalingSocketOpen'),
    ('websocket open -> socket.io connected', 'signalingSocketOpen', 'signalingConnected'),
    ('Join clicked -> join sent', 'joinClick', 'joinSent'),
    ('join sent -> join acknowledged (knocking)', 'joinSent', 'knocking'),
    ('A: knock arrives (before B\'s own acknowledgement) -> Answer button shows', 'host.knockReceived',
     'host.answerButtonShown'),
    ('A: Answer clicked -> answer sent', 'host.answerButtonShown', 'host.answerKnockSent'),
    ('A: answer sent -> B admitted', 'host.answerKnockSent', 'admitted'),
    ('admitted -> seated (second join)', 'admitted', 'joined'),
    ('Join clicked -> seated (whole signaling path after the click)', 'joinClick', 'joined'),
    ('started -> camera ready (beside it, mostly while the name is typed)', 'cameraRequested', 'cameraReady'),
]

PAGE_STEPS = [
    ('navigation -> HTML response starts (server renders the page)', None, 'responseStart'),
    ('HTML response -> last script or style sheet arrived', 'responseStart', 'lastResourceLoaded'),
    ('last script arrived -> camera and signaling start', 'lastResourceLoaded', 'cameraRequested'),
    ('main thread blocked by long tasks before they start (sum)', None, 'longTasksBeforeMount'),
]

EXCHANGE_STEPS = [
    ('B seated -> RTCPeerConnection created', 'joined', 'peerConnectionCreated'),
    ('RTCPeerConnection created -> offer set (setLocalDescription)', 'peerConnectionCreated', 'offerSet'),
    ('offer set -> offer sent', 'offerSet', 'offerSent'),
    ('B offer sent -> A offer arrives (relay)', 'offerSent', 'host.offerReceived'),
    ('A offer arrives -> A offer applied (setRemoteDescription)', 'host.offerReceived', 'host.remoteOfferApplied'),
    ('A offer applied -> A answer set (setLocalDescription)', 'host.remoteOfferApplied', 'host.answerSet'),
    ('A answer set -> A answer sent', 'host.answerSet', 'host.answerSent'),
    ('A answer sent -> B answer arrives (relay)', 'host.answerSent', 'answerReceived'),
]


@dataclass
class FirstFrame(Result):
    """Summaries (ms) of the total, of every milestone, phase and step; every sample; the failed runs."""

    title: ClassVar[str] = '1. Join to first frame'
    chromium: str
    runs: int
    warmup_runs: int
    seconds: float
    first_frame_ms: dict[str, float]
    join_click_to_first_frame_ms: dict[str, float]
    camera_was_last: float
    other_cores_before_runs: dict[str, float]
    knocked: int
    answered_by_fallback: int
    milestones_ms: dict[str, dict[str, Any]]
    phases_ms: dict[str, dict[str, float]]
    steps_ms: dict[str, dict[str, float]]
    samples: list[dict[str, float]]
    failed_runs: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        total, click = self.first_frame_ms, self.join_click_to_first_frame_ms
        return [
            Row(self.title, f'p50, invite link opened to first frame ({self.runs} runs)', f'{total["p50"]:.0f} ms',
                '<= 600 ms', total['p50'] <= 600),
            Row(self.title, 'p95', f'{total["p95"]:.0f} ms', '<= 1200 ms', total['p95'] <= 1200),
            Row(self.title, 'p50 / p95 from the click on Join', f'{click["p50"]:.0f} / {click["p95"]:.0f} ms'),
        ]

    def details(self) -> list[str]:
        quiet = self.other_cores_before_runs
        lines = ['', '### 1. Join to first frame: where the time goes', '',
                 f'{self.runs} runs after {self.warmup_runs} warm-up runs; A waits in one call, and every '
                 'run is a fresh B (a new browser context). '
                 f'B knocked in {self.knocked} runs (A\'s page clicked Answer the moment it showed; '
                 f'{self.answered_by_fallback} answered over the socket because no button showed). '
                 f'The camera finished after signaling in {self.camera_was_last:.0f} runs. Each run waited up to '
                 f'3 s for other processes to go quiet; just before the runs they used '
                 f'{quiet["p50"]:.2f} cores (median), {quiet["max"]:.2f} at most.', '',
                 'Critical path, consecutive intervals (they add up to the total):', '',
                 '| phase | p50 ms | p95 ms |', '|---|---|---|']
        lines += [f'| {label} | {ms(s)} |' for label, s in self.phases_ms.items()]
        lines += [f'| **total** | {ms(self.first_frame_ms)} |',
                  '', 'Milestones, ms after B opened the invite link ("A:" on the host\'s page, same clock):', '',
                  '| milestone | p50 | p95 |', '|---|---|---|']
        lines += [f'| {s["label"]} | {ms(s)} |' for s in self.milestones_ms.values() if s['n']]
        click = self.join_click_to_first_frame_ms
        lines += ['', f'From the click on Join to the first frame: {click["p50"]:.0f} ms (p50), '
                  f'{click["p95"]:.0f} ms (p95).', '',
                  'Steps of the page load, of the signaling path and of the offer/answer exchange:', '',
                  '| step | p50 ms | p95 ms |', '|---|---|---|']
        lines += [f'| {label} | {ms(s)} |' for label, s in self.steps_ms.items() if s['n']]
        return lines


def run(runs: int = 24, warmup: int = 2, time_bound: float = 180.0) -> FirstFrame:
    """``warmup`` discarded runs, then ``runs`` measured ones (fewer if ``time_bound`` seconds pass)."""
    started = time.monotonic()
    samples: list[dict[str, float]] = []
    failures: list[str] = []
    with BenchServer().start() as server:
        rooms = asyncio.run(_rooms(server, 4))  # before Playwright's own event loop starts
        with sync_playwright() as pw:
            browser = launch(pw)
            version = browser.version
            host: Host | None = None
            attempt = 0
            while attempt < warmup + runs and time.monotonic() - started < time_bound:
                others = machine.wait_until_quiet(QUIET_CORES, max_seconds=RUN_QUIET_WAIT, window=0.5)
                try:
                    if host is None:
                        host = Host(browser, server.url, f'{server.url}/dial/{rooms.pop()}')
                    sample = host.receive_guest()
                    sample['otherCores'] = others['other_cores']
                except Exception as error:  # noqa: BLE001 (a failed run is counted, and the host starts afresh)
                    failures.append(f'{type(error).__name__}: {error}'.splitlines()[0][:200])
                    if host is not None:
                        host.close()
                    host = None
                    if len(failures) > 3 or not rooms:
                        raise
                    continue
                if attempt >= warmup:
                    samples.append(sample)
                attempt += 1
            if host is not None:
                host.close()
            browser.close()
    return FirstFrame(**_report(samples, version, warmup, time.monotonic() - started), failed_runs=failures)


async def _rooms(server: BenchServer, count: int) -> list[str]:
    api = Api(server.url)
    try:
        return [await api.create_room('127.0.0.200') for _ in range(count)]
    finally:
        await api.close()


def _person(browser: Browser, base_url: str, *scripts: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    for script in scripts:
        context.add_init_script(script)
    return context, context.new_page()


class Host:
    """A, waiting in a call; B after B comes through the invite link."""

    def __init__(self, browser: Browser, base_url: str, link: str) -> None:
        self.browser, self.base_url, self.link = browser, base_url, link
        self.context, self.page = _person(browser, base_url, AUTO_ANSWER, INSTRUMENT)
        self.guests = 0
        dial(self.page, link, 'Ada')  # the first in an empty room is seated at once
        self.page.wait_for_function('() => "joined" in window.__bench.marks && "cameraReady" in window.__bench.marks')

    def receive_guest(self) -> dict[str, float]:
        """A fresh B opens the invite link and joins; B's tab closes once A's first frame shows."""
        self.page.evaluate('() => { window.__bench.events.length = 0; }')
        context, grace = _person(self.browser, self.base_url, INSTRUMENT)
        try:
            dial(grace, self.link, 'Grace')
            grace.wait_for_function('() => "firstFrame" in window.__bench.marks')
            marks: dict[str, Any] = grace.evaluate("""() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const origin = performance.timeOrigin;
                const marks = window.__bench.marks;
                // Until the app mounted: when the last script or style sheet arrived, and how long the
                // main thread was blocked by long tasks (parsing, running, compiling styles).
                const mounted = marks.cameraRequested ?? Infinity;
                const loaded = performance.getEntriesByType('resource')
                    .map((r) => [r.initiatorType, origin + r.responseEnd])
                    .filter(([type, end]) => ['script', 'link', 'css'].includes(type) && end < mounted)
                    .map(([, end]) => end);
                const blocked = window.__bench.longTasks.filter(([start]) => start < mounted)
                    .reduce((sum, [, duration]) => sum + duration, 0);
                return {...marks, navigationStart: origin,
                        responseStart: origin + nav.responseStart, responseEnd: origin + nav.responseEnd,
                        domContentLoaded: origin + nav.domContentLoadedEventEnd,
                        lastResourceLoaded: loaded.length ? Math.max(...loaded) : origin + nav.responseEnd,
                        longTasksBeforeMount: origin + blocked};
            }""")
            host_events: list[list[Any]] = self.page.evaluate('() => window.__bench.events')
        finally:
            context.close()
        # The seat must be free before the next B comes: wait until A has heard that B left.
        self.page.wait_for_function('() => window.__bench.events.some(([name]) => name === "peerLeft")')
        return _relative(marks, host_events)

    def close(self) -> None:
        self.context.close()


def _relative(marks: dict[str, Any], host_events: list[list[Any]]) -> dict[str, float]:
    """Marks as milliseconds after B's navigation; A's marks on the same clock, after B navigated."""
    origin = marks['navigationStart']
    sample = {name: value - origin for name, value in marks.items()
              if isinstance(value, int | float) and name != 'navigationStart'}
    sample['readyToOffer'] = max(sample['cameraReady'], sample['joined'])
    sample['cameraLast'] = float(sample['cameraReady'] > sample['joined'])
    for name, t, _ in host_events:
        if t >= origin:
            sample.setdefault(f'host.{name}', t - origin)
    return sample


def _report(samples: list[dict[str, float]], version: str, warmup: int, seconds: float) -> dict[str, Any]:
    def interval(start: str | None, end: str) -> list[float]:
        return [s[end] - (s[start] if start else 0.0) for s in samples if end in s and (start is None or start in s)]

    labelled = [(label, start, end) for label, start, end in PAGE_STEPS + SIGNALING_STEPS + EXCHANGE_STEPS]
    return {
        'chromium': version,
        'runs': len(samples),
        'warmup_runs': warmup,
        'seconds': round(seconds, 1),
        'first_frame_ms': summary(interval(None, 'firstFrame')),
        'join_click_to_first_frame_ms': summary(interval('joinClick', 'firstFrame')),
        'camera_was_last': sum(s.get('cameraLast', 0) for s in samples),
        'other_cores_before_runs': summary([s['otherCores'] for s in samples if 'otherCores' in s]),
        'knocked': sum('knocking' in s for s in samples),
        'answered_by_fallback': sum('host.answerFallback' in s for s in samples),
        'milestones_ms': {name: {'label': label, **summary(interval(None, name))} for name, label in MILESTONES},
        'phases_ms': {label: summary(interval(start, end)) for label, start, end in PHASES},
        'steps_ms': {label: summary(interval(start, end)) for label, start, end in labelled},
        'samples': samples,
    }
