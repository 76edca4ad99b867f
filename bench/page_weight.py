"""Page weight: what a cold browser downloads for the home page and for a call page.

Bytes are what went over the wire (Chromium's encodedDataLength: compressed bodies plus headers),
counted with the DevTools protocol until the network has been quiet for a moment after the load event.
WebSockets (NiceGUI's own and the signaling one) are counted apart: they are not part of loading.
The call page is measured as a newcomer meets it: the invite link (/dial/<room>), which is the call
page itself (camera and signaling started) behind the name dialog.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from skycall.testing.api import Api
from skycall.testing.browser import launch

from .first_frame import INSTRUMENT
from .harness import BenchServer
from .results import KIB, Result, Row

RUNS = 3
QUIET_SECONDS = 1.0  # the network counts as settled after this long without a new request
TIMEOUT_MS = 20_000


@dataclass
class PageWeight(Result):
    """The median cold load of each page, its heaviest requests, and every run's totals."""

    title: ClassVar[str] = '4. Page weight (cold)'
    home: dict[str, Any]
    call: dict[str, Any]

    def rows(self) -> list[Row]:
        home, call = self.home, self.call
        return [
            Row(self.title, f'/ : transferred, {home["requests"]} requests', f'{home["bytes"] / KIB:.1f} KiB'),
            Row(self.title, '/ : DOMContentLoaded', f'{home["dom_content_loaded_ms"]:.0f} ms'),
            Row(self.title, f'call page (invite link): transferred, {call["requests"]} requests',
                f'{call["bytes"] / KIB:.1f} KiB', '<= 350 KiB', call['bytes'] <= 350 * KIB),
            Row(self.title, 'call page: DOMContentLoaded', f'{call["dom_content_loaded_ms"]:.0f} ms'),
        ]

    def details(self) -> list[str]:
        lines = ['', '### 4. Page weight: the heaviest requests', '']
        for page in (self.home, self.call):
            lines += [f'`{_short(page["path"])}`: {page["requests"]} requests, {page["bytes"] / KIB:.1f} KiB '
                      f'transferred ({page["decoded_bytes"] / KIB:.1f} KiB decoded), DOMContentLoaded '
                      f'{page["dom_content_loaded_ms"]:.0f} ms (median of {len(page["runs"])} cold loads); '
                      f'websockets opened: {", ".join(page["websockets"]) or "none"}. Until DOMContentLoaded: '
                      f'HTML response after {page["response_start_ms"]:.0f} ms, last script or style sheet in at '
                      f'{page["last_resource_before_dcl_ms"]:.0f} ms, main thread blocked by long tasks for '
                      f'{page["long_tasks_before_dcl_ms"]:.0f} ms.', '',
                      '| request | type | transferred KiB | decoded KiB | encoding |', '|---|---|---|---|---|']
            lines += [f'| {_short(item["path"])}{_label(item)} | {item["type"]} | {item["bytes"] / KIB:.1f} | '
                      f'{item["decoded_bytes"] / KIB:.1f} | {item["encoding"] or "none"} |'
                      for item in page['items'][:10]]
            lines.append('')
        return lines


def _label(item: dict[str, Any]) -> str:
    return f' ({item["label"]})' if item.get('label') else ''


def _short(path: str) -> str:
    return re.sub(r'/[0-9a-f]{32}/', '/…/', re.sub(r'/(call|dial)/[A-Za-z0-9_-]{22}', r'/\1/<room>', path))


def run(runs: int = RUNS) -> PageWeight:
    with BenchServer().start() as server:
        room = asyncio.run(_room(server))
        with sync_playwright() as pw:
            browser = launch(pw)
            pages = {
                'home': [_home(browser, server.url) for _ in range(runs)],
                'call': [_call(browser, server.url, room) for _ in range(runs)],
            }
            browser.close()
        summaries = {name: _summarise(loads) for name, loads in pages.items()}
        _name_fonts(server.url, summaries)
    return PageWeight(**summaries)


def _name_fonts(base_url: str, summaries: dict[str, Any]) -> None:
    """Font files have hashed names: say which family each one is, from the style sheet that loads it."""
    families: dict[str, str] = {}
    for page in summaries.values():
        for item in page['items']:
            if item['path'].endswith('/fonts.css'):
                css = httpx.get(base_url + item['path'], timeout=10).text
                for family, src in re.findall(r'font-family:\s*"([^"]+)";[^}]*?url\(([^)]+)\)', css):
                    families[src.rsplit('/', 1)[-1]] = family
    for page in summaries.values():
        for item in page['items']:
            family = families.get(item['path'].rsplit('/', 1)[-1])
            if family:
                item['label'] = family


async def _room(server: BenchServer) -> str:
    api = Api(server.url)
    try:
        return await api.create_room('127.0.0.240')
    finally:
        await api.close()


def _home(browser: Browser, base_url: str) -> dict[str, Any]:
    context = browser.new_context(base_url=base_url)
    context.add_init_script(INSTRUMENT)
    try:
        return _load(context, context.new_page(), '/')
    finally:
        context.close()


def _call(browser: Browser, base_url: str, room: str) -> dict[str, Any]:
    context = browser.new_context(base_url=base_url)
    context.add_init_script(INSTRUMENT)
    try:
        return _load(context, context.new_page(), f'/dial/{room}')
    finally:
        context.close()


def _load(context: BrowserContext, page: Page, path: str) -> dict[str, Any]:
    page.set_default_timeout(TIMEOUT_MS)
    cdp = context.new_cdp_session(page)
    requests: dict[str, dict[str, Any]] = {}
    sockets: list[str] = []
    last_activity = [time.monotonic()]

    def started(event: dict[str, Any]) -> None:
        last_activity[0] = time.monotonic()
        url = event['request']['url']
        if not url.startswith('data:'):
            requests.setdefault(event['requestId'], {'url': url, 'type': event.get('type', ''), 'bytes': 0,
                                                     'body': 0, 'encoding': '', 'cached': False, 'done': False})

    def responded(event: dict[str, Any]) -> None:
        request = requests.get(event['requestId'])
        if request is not None:
            response = event['response']
            headers = {key.lower(): value for key, value in response.get('headers', {}).items()}
            request['encoding'] = headers.get('content-encoding', '')
            request['status'] = response.get('status')
            request['cached'] = bool(response.get('fromDiskCache') or response.get('fromMemoryCache'))

    def received(event: dict[str, Any]) -> None:
        request = requests.get(event['requestId'])
        if request is not None:
            request['body'] += event.get('dataLength', 0)

    def finished(event: dict[str, Any]) -> None:
        last_activity[0] = time.monotonic()
        request = requests.get(event['requestId'])
        if request is not None:
            request['bytes'] = int(event.get('encodedDataLength', 0))
            request['done'] = True

    cdp.on('Network.requestWillBeSent', started)
    cdp.on('Network.responseReceived', responded)
    cdp.on('Network.dataReceived', received)
    cdp.on('Network.loadingFinished', finished)
    cdp.on('Network.requestServedFromCache', lambda e: requests.get(e['requestId'], {}).update(cached=True))
    cdp.on('Network.webSocketCreated', lambda e: sockets.append(urlsplit(e['url']).path))
    cdp.send('Network.enable')
    page.goto(path, wait_until='load')
    while time.monotonic() - last_activity[0] < QUIET_SECONDS or not all(r['done'] for r in requests.values()):
        page.wait_for_timeout(100)  # polling the network log, bounded by the page's own timeout below
        if time.monotonic() - last_activity[0] > TIMEOUT_MS / 1000:
            break
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const dcl = nav.domContentLoadedEventEnd;
        const early = performance.getEntriesByType('resource').filter((r) => r.responseEnd < dcl);
        const blocked = window.__bench.longTasks.map(([start, duration]) => [start - performance.timeOrigin, duration])
            .filter(([start]) => start < dcl).reduce((sum, [, duration]) => sum + duration, 0);
        return {domContentLoaded: dcl, load: nav.loadEventEnd, responseStart: nav.responseStart,
                lastResource: Math.max(nav.responseEnd, ...early.map((r) => r.responseEnd)), longTasks: blocked};
    }""")
    cdp.detach()
    http = [r for r in requests.values() if not r['url'].startswith(('ws:', 'wss:'))]
    return {
        'path': path,
        'requests': len(http),
        'bytes': sum(r['bytes'] for r in http),
        'decoded_bytes': sum(r['body'] for r in http),
        'from_cache': sum(r['cached'] for r in http),
        'dom_content_loaded_ms': timing['domContentLoaded'],
        'load_ms': timing['load'],
        'response_start_ms': timing['responseStart'],
        'last_resource_before_dcl_ms': timing['lastResource'],
        'long_tasks_before_dcl_ms': timing['longTasks'],
        'websockets': sockets,
        'items': sorted(({'path': urlsplit(r['url']).path, 'type': r['type'], 'bytes': r['bytes'],
                          'decoded_bytes': r['body'], 'encoding': r['encoding']} for r in http),
                        key=lambda item: -item['bytes']),
    }


def _summarise(loads: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run's figures, with every run's totals beside them."""
    median = sorted(loads, key=lambda load: load['bytes'])[len(loads) // 2]
    return {
        **{key: median[key] for key in ('path', 'requests', 'bytes', 'decoded_bytes', 'websockets', 'items')},
        'from_cache': max(load['from_cache'] for load in loads),
        'dom_content_loaded_ms': statistics.median(load['dom_content_loaded_ms'] for load in loads),
        'load_ms': statistics.median(load['load_ms'] for load in loads),
        'response_start_ms': statistics.median(load['response_start_ms'] for load in loads),
        'last_resource_before_dcl_ms': statistics.median(load['last_resource_before_dcl_ms'] for load in loads),
        'long_tasks_before_dcl_ms': statistics.median(load['long_tasks_before_dcl_ms'] for load in loads),
        'runs': [{key: load[key] for key in ('requests', 'bytes', 'dom_content_loaded_ms')} for load in loads],
    }
