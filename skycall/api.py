"""A small HTTP API for clients that are not SkyCall's own pages (the headless bot, tests)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .addresses import client_key
from .calls import Calls
from .errors import SkyCallError

STATUS = {'no-such-room': 404, 'bad-message': 400, 'too-large': 400, 'rate-limited': 429}


def client_address(request: Request) -> str:
    """The key this request's client is counted under by per-address limits (an IPv6 /64 is one)."""
    return client_key(request.client.host) if request.client else '?'


async def json_body(request: Request) -> Any:
    """The request's body as JSON, or None for anything that is not valid JSON in UTF-8.

    Refused here rather than failing later with a 500: nesting deeper than Python's recursion limit
    (RecursionError), and lone surrogates (``"\\ud800"``), which JSON allows but UTF-8 cannot carry.
    """
    try:
        body = json.loads(await request.body())
        json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        return None
    return body


Readiness = Callable[[], Awaitable[dict[str, bool]]]


def register(app: FastAPI, calls: Calls, readiness: Readiness) -> None:
    @app.post('/api/rooms', status_code=201, response_model=None)
    async def create_room(request: Request) -> dict[str, str] | JSONResponse:
        try:
            return {'room': await calls.start(client_address(request))}
        except SkyCallError as error:
            return JSONResponse(error.to_dict(), status_code=STATUS.get(error.code, 400))

    @app.post('/api/rooms/{room}/tickets', response_model=None)
    async def create_ticket(room: str, request: Request) -> dict[str, str] | JSONResponse:
        body = await json_body(request)
        try:
            ticket = await calls.ticket(room, body.get('name') if isinstance(body, dict) else None)
        except SkyCallError as error:
            return JSONResponse(error.to_dict(), status_code=STATUS.get(error.code, 400))
        return {'ticket': calls.sign(ticket), 'peer': ticket.peer, 'name': ticket.name}

    @app.get('/healthz')
    async def healthz() -> dict[str, str]:
        """The process is alive (whatever Redis is doing)."""
        return {'status': 'ok'}

    @app.get('/readyz', response_model=None)
    async def readyz() -> JSONResponse:
        """Ready to take calls: every dependency (Redis, the relay's listener) answers."""
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({'status': 'ready' if ready else 'not ready', 'checks': checks},
                            status_code=200 if ready else 503)
