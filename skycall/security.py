"""The HTTP side's defences: page-view budget, response headers, body limits, Host and same-origin checks.

``install`` registers them all; every one is pure ASGI, so none of them buffers a response. Order,
outermost first: page-view budget (budgets.py; outside even NiceGUI's own middlewares, so that a refusal
costs next to nothing), Host check, body limit, same-origin /api, headers. The server sets no cookie at
all (no session, no per-visitor storage): the one cookie SkyCall has is written by the page on Join
(pages/memory.py), ``Secure`` when the page came over https.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .budgets import PageBudget
from .config import Settings

# NiceGUI compiles Vue templates in the browser and injects inline scripts, hence 'unsafe-eval' and
# 'unsafe-inline' for scripts. What the policy still buys: no connection, image or media from any
# other origin (nothing to exfiltrate to), no plugins, no <base> rewriting, no framing.
CONTENT_SECURITY_POLICY = '; '.join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    # The room id in the URL is the call's only secret: never send it to another site.
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Permissions-Policy': 'camera=(self), microphone=(self), display-capture=(self), geolocation=()',
}

# The API's bodies are a name at most; anything else (NiceGUI's long-polling fallback) gets engine.io's
# own default buffer size. Without a limit a 200 MB body was read whole into memory.
API_BODY_LIMIT = 16 * 1024
BODY_LIMIT = 1024 * 1024
log = logging.getLogger('skycall')
# Load balancers probe these with whatever Host header they like (HAProxy's check sends none).
UNCHECKED_HOST_PATHS = frozenset({'/healthz', '/readyz'})


def install(app: FastAPI, settings: Settings) -> None:
    """Register every middleware of this module on ``app``, in the order the module docstring gives."""
    # Starlette puts each added middleware outside the ones before it: innermost first.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(SameOriginApi)
    app.add_middleware(BodyLimit)
    app.add_middleware(HostCheck, allowed_hosts=settings.allowed_host_names)
    budget = Middleware(PageBudget, burst=settings.page_burst, rate=settings.page_rate,
                        max_builds=settings.page_builds_max)
    build = app.build_middleware_stack

    def build_with_budget_outermost() -> ASGIApp:
        # ui.run adds NiceGUI's own middlewares (two BaseHTTPMiddleware, gzip) after this: outside the budget, they
        # tripled the cost of a refused page view. The stack is built at the first request, after ui.run.
        app.user_middleware[:] = [budget, *(m for m in app.user_middleware if m is not budget)]
        return build()

    app.build_middleware_stack = build_with_budget_outermost  # type: ignore[method-assign]
    if settings.host in {'0.0.0.0', '::'} and not settings.allowed_hosts:
        log.warning('listening on %s with SKYCALL_ALLOWED_HOSTS unset: only requests for localhost are served; '
                    'set it to the host name(s) people use', settings.host)


def is_api(scope: Scope) -> bool:
    return str(scope.get('path', '')).startswith('/api/')


def refusal(status: int, code: str, message: str) -> JSONResponse:
    """A refusal in the API's error shape (``{"ok": false, "code", "message"}``)."""
    return JSONResponse({'ok': False, 'code': code, 'message': message}, status_code=status)


class SecurityHeaders:
    """Adds HEADERS to every HTTP response that does not set them itself.

    Pure ASGI: as a BaseHTTPMiddleware it cost every request a task and a memory stream (under a flood
    of /healthz requests, a good part of the worker's CPU).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for a body over its limit: at once for a declared Content-Length, as it arrives for a chunked one.

    The body is read (up to the limit) before the app sees the request and handed on in one piece: no
    endpoint can then read more than the limit, and a refusal never has to interrupt a running endpoint.
    """

    def __init__(self, app: ASGIApp, api_limit: int = API_BODY_LIMIT, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.api_limit = api_limit
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        limit = self.api_limit if is_api(scope) else self.limit
        declared = Headers(scope=scope).get('content-length', '')
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(limit, scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message['type'] != 'http.request':  # the client went away: the app sees that too
                await self.app(scope, _replay([message], receive), send)
                return
            body += message.get('body', b'')
            if len(body) > limit:
                await self._refuse(limit, scope, receive, send)
                return
            if not message.get('more_body', False):
                break
        whole: Message = {'type': 'http.request', 'body': bytes(body), 'more_body': False}
        await self.app(scope, _replay([whole], receive), send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        await refusal(413, 'too-large', f'The request body is larger than {limit // 1024} KiB.')(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that returns ``messages`` first, then whatever the server sends (a disconnect)."""
    pending = list(messages)

    async def replaying_receive() -> Message:
        return pending.pop(0) if pending else await receive()

    return replaying_receive


class SameOriginApi:
    """Refuses /api requests that change something when a browser says they come from another site.

    Browsers send Sec-Fetch-Site (and Origin) with every POST; clients that are not browsers (the bot)
    send neither and are let through. Without this, any web page could make its visitors' browsers
    create rooms and take tickets under their addresses' limits.
    """

    SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and is_api(scope) and scope['method'] not in self.SAFE_METHODS:
            if self._cross_site(Headers(scope=scope)):
                response = refusal(403, 'bad-message', 'Requests from other sites are refused.')
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _cross_site(headers: Headers) -> bool:
        site = headers.get('sec-fetch-site')
        if site is not None and site not in {'same-origin', 'none'}:
            return True
        origin = headers.get('origin')
        if origin is None:
            return False
        # Scheme and port may differ behind a TLS-terminating proxy; the host:port the browser used may not.
        return urlsplit(origin).netloc.lower() != headers.get('host', '').lower()


class HostCheck(TrustedHostMiddleware):
    """Starlette's Host check (400 for a Host not configured), except for the health probes.

    The invite link a page shows is built from the Host header: a forged one must not be served.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and scope.get('path') in UNCHECKED_HOST_PATHS:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
