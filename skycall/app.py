"""The one place that wires the store, the signaling server, the API and the pages together."""

from __future__ import annotations

import logging
from pathlib import Path

import socketio
from nicegui import app, ui

from . import api
from .calls import Calls
from .config import Settings, get_settings
from .pages import call, home
from .rooms import MemoryRoomStore, RoomStore
from .security import SecurityHeaders
from .signaling import SOCKETIO_PATH, create_server
from .tickets import TicketMint

ASSETS = Path(__file__).resolve().parent.parent / 'assets'
log = logging.getLogger('skycall')


def build(settings: Settings) -> Calls:
    """Create the store and the services, mount the signaling server, register API and pages."""
    store: RoomStore = MemoryRoomStore(settings.room_ttl_seconds)
    calls = Calls(store, TicketMint(settings.secret, settings.ticket_max_age_seconds))
    signaling = create_server(store, calls.mint, settings.max_participants)
    # Starlette's Mount keeps the full path in scope['path'], so engine.io is given the full path.
    app.mount('/signal', socketio.ASGIApp(signaling, socketio_path=SOCKETIO_PATH))
    app.add_static_files('/assets', ASSETS)
    app.add_middleware(SecurityHeaders)
    app.on_shutdown(store.close)
    api.register(app, calls)
    ice_servers = [{'urls': url} for url in settings.ice_server_urls]
    home.register(calls)
    call.register(calls, ice_servers, ticket_refresh_seconds=settings.ticket_max_age_seconds / 3,
                  ring_timeout_seconds=settings.ring_timeout_seconds, max_participants=settings.max_participants)
    return calls


def main() -> None:
    settings = get_settings()
    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='SkyCall',
        favicon=ASSETS / 'logo.svg',
        storage_secret=settings.secret,
        reconnect_timeout=settings.reconnect_timeout_seconds,
        show=False,
        reload=False,
        uvicorn_logging_level='warning',
        ws_max_size=128 * 1024,  # no client sends big frames; signaling itself stops at 64 KiB
    )
