"""A small HTTP API for clients that are not SkyCall's own pages (the headless bot, tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .calls import Calls
from .errors import SkyCallError

STATUS = {'no-such-room': 404, 'bad-message': 400, 'too-large': 400, 'rate-limited': 429}


def client_address(request: Request) -> str:
    return request.client.host if request.client else '?'


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
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
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
