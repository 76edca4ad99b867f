"""Per-address rate budgets, and the one for page views (issue 11: one abuser must not slow other people's calls).

Building a NiceGUI page holds a worker's event loop for tens of milliseconds; a cookieless flood of page
views from a few addresses kept a worker at 100 % CPU, and everybody's signaling on that worker waited
(a bystander's p99 signal delay went from a few ms to seconds). ``PageBudget`` gives each client address
(skycall.addresses.client_key: an IPv6 /64 is one address) a token bucket of page views and answers 429 with
a tiny plain page beyond it, without building anything. A worker also builds few pages at once (the others
wait their turn, 503 when too many wait): eight builds at once held the loop for one long stretch, and a
signal that arrived meanwhile waited for all of them; one after the other, signals are handled in between.
transport.py uses ``TokenBuckets`` for engine.io handshakes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .addresses import client_key

MAX_KEYS = 10_000  # addresses remembered at once (a few MB at most); a bucket that is full again is forgotten
PAGE_PATHS = frozenset({'/', '/echo'})
PAGE_PREFIXES = ('/dial/', '/call/')
TOO_MANY_PAGES = 'Too many page loads from your network; wait a few seconds and load the page again.\n'
BUSY = 'The server is busy building other pages; wait a few seconds and load the page again.\n'
BUSY_RETRY_SECONDS = 2
MAX_WAITING_BUILDS = 64  # page views waiting for their build in one worker; beyond, 503
# A refusal is answered this late (no CPU meanwhile, the connection just waits): a flooding client that sends
# its next request when the last is answered (most do) then sends a few a second instead of a thousand,
# each costing the worker a request's parsing and routing. A person who reloads too often waits a second.
REFUSAL_DELAY = 1.0


class TokenBuckets:
    """A token bucket per key: ``burst`` takes at once, refilled at ``rate`` a second.

    Memory is bounded: a bucket that has filled up again says nothing and is forgotten, and beyond
    ``max_keys`` buckets the longest idle one goes (its key starts afresh, a full bucket, if it comes back).
    """

    def __init__(self, burst: float, rate: float, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or rate <= 0 or max_keys < 1:
            raise ValueError('a token bucket needs burst >= 1, rate > 0 and max_keys >= 1')
        self.burst = float(burst)
        self.rate = float(rate)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when); idlest first

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when there was one, else the seconds until there is one."""
        now = self.clock()
        tokens = self._tokens(self._buckets.pop(key, None), now)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        self._forget(now)
        return wait

    def _tokens(self, bucket: tuple[float, float] | None, now: float) -> float:
        if bucket is None:
            return self.burst
        tokens, when = bucket
        return min(self.burst, tokens + (now - when) * self.rate)

    def _forget(self, now: float) -> None:
        while self._buckets:
            key, bucket = next(iter(self._buckets.items()))
            if len(self._buckets) <= self.max_keys and self._tokens(bucket, now) < self.burst:
                return
            del self._buckets[key]


def is_page(path: str) -> bool:
    """True for the paths of SkyCall's NiceGUI pages (not static files, the API, health probes or sockets)."""
    return path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


class PageBudget:
    """Pure ASGI: page views per client address (``burst``, refilled at ``rate`` a second; beyond, 429), and
    at most ``max_builds`` page builds at once in this worker (the next ``max_waiting`` wait; beyond, 503).
    Either refusal is a short plain page with Retry-After, and no NiceGUI page is built for it."""

    def __init__(self, app: ASGIApp, *, burst: int, rate: float, max_builds: int,
                 max_waiting: int = MAX_WAITING_BUILDS, refusal_delay: float = REFUSAL_DELAY) -> None:
        self.app = app
        self.buckets = TokenBuckets(burst, rate)
        self.builds = asyncio.Semaphore(max_builds)
        self.max_waiting = max_waiting
        self.waiting = 0
        self.refusal_delay = refusal_delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or not is_page(str(scope.get('path', ''))):
            await self.app(scope, receive, send)
            return
        client = scope.get('client') or ('?', 0)
        wait = self.buckets.take(client_key(str(client[0])))
        if wait:
            await asyncio.sleep(min(wait, self.refusal_delay))
            await _refusal(429, TOO_MANY_PAGES, math.ceil(wait))(scope, receive, send)
            return
        if self.builds.locked() and self.waiting >= self.max_waiting:
            await asyncio.sleep(self.refusal_delay)
            await _refusal(503, BUSY, BUSY_RETRY_SECONDS)(scope, receive, send)
            return
        self.waiting += 1
        try:
            await self.builds.acquire()
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.builds.release()


def _refusal(status: int, text: str, retry_after: int) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status, headers={
        'Retry-After': str(retry_after), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'})
