"""The one place that wires the store, the signaling server, the API and the pages together."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import socketio
from nicegui import app, ui
from nicegui.storage import Storage

from . import api
from .calls import Calls
from .config import Settings, get_settings
from .echo import EchoLine
from .pages import call, echo, home
from .redis_store import RedisRoomStore
from .relay import RedisRelay
from .rooms import MemoryRoomStore, RoomStore
from .security import SecurityHeaders
from .signaling import SOCKETIO_PATH, SignalingNamespace, create_server
from .tickets import TicketMint

ASSETS = Path(__file__).resolve().parent.parent / 'assets'
log = logging.getLogger('skycall')
SWEEP_SECONDS = 3.0


def build(settings: Settings) -> Calls:
    """Create the store and the services, mount the signaling server, register API and pages."""
    store, relay = _state(settings)
    calls = Calls(store, TicketMint(settings.secret, settings.ticket_max_age_seconds))
    signaling, namespace = create_server(store, calls.mint, settings.max_participants, relay,
                                         ring_timeout_seconds=settings.ring_timeout_seconds)
    # Starlette's Mount keeps the full path in scope['path'], so engine.io is given the full path.
    app.mount('/signal', socketio.ASGIApp(signaling, socketio_path=SOCKETIO_PATH))
    app.add_static_files('/assets', ASSETS)
    app.add_middleware(SecurityHeaders)
    app.colors(primary='#2563eb')  # for every page, set at startup (ui.colors would load one more script)
    app.on_startup(store.start)
    app.on_shutdown(store.close)

    async def sweep() -> None:
        await _sweep(store, namespace)

    app.on_startup(sweep)

    async def readiness() -> dict[str, bool]:
        if relay is None:
            return {'store': await store.ping()}
        return {'redis': await store.ping(), 'relay': relay.listening}

    if relay is not None:
        app.on_startup(lambda: _start_relay(signaling))
        app.on_shutdown(relay.close)
    api.register(app, calls, readiness)
    ice_servers = [{'urls': url} for url in settings.ice_server_urls]
    home.register(calls)
    call.register(calls, ice_servers, ticket_refresh_seconds=settings.ticket_max_age_seconds / 3,
                  max_participants=settings.max_participants)
    line = EchoLine.from_settings(calls, settings)
    app.on_shutdown(line.close)
    echo.register(line, ice_servers)
    return calls


def _state(settings: Settings) -> tuple[RoomStore, RedisRelay | None]:
    """The one place the store is chosen: Redis when configured, else this process's memory."""
    if not settings.redis_url:
        return MemoryRoomStore(settings.room_ttl_seconds), None
    store = RedisRoomStore.from_url(settings.redis_url, prefix=settings.redis_prefix,
                                    room_ttl_seconds=settings.room_ttl_seconds, worker_id=settings.worker_id)
    # NiceGUI's per-user storage (names, peer ids) must be shared by the workers too.
    Storage.redis_url = settings.redis_url
    Storage.redis_key_prefix = f'{settings.redis_prefix}nicegui:'
    # The relay addresses workers by the ids the store records with each member.
    return store, RedisRelay(settings.redis_url, channel=f'{settings.redis_prefix}socketio',
                             worker_id=settings.worker_id)


def _start_relay(server: socketio.AsyncServer) -> None:
    """Listen to the other workers from the start, not from the first connection (python-socketio's way)."""
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


async def _sweep(store: RoomStore, namespace: SignalingNamespace) -> None:
    """Announce members whose worker died: their seats would otherwise stay taken by ghosts."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            departed = await store.sweep()
            if departed:
                log.warning('members of a dead worker removed: %d', len(departed))
            await namespace.announce_departures(departed)
        except Exception as error:  # noqa: BLE001 (Redis away: try again next round)
            log.warning('sweep failed: %s', error)


def main() -> None:
    settings = get_settings()
    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='SkyCall',
        favicon=(ASSETS / 'logo.svg').read_text(),  # inline in each page: no /favicon.ico request
        storage_secret=settings.secret,
        reconnect_timeout=settings.reconnect_timeout_seconds,
        show=False,
        tailwind=False,  # SkyCall's few utility classes are its own CSS (pages/frame.py)
        reload=False,
        uvicorn_logging_level='warning',
        ws_max_size=128 * 1024,  # no client sends big frames; signaling itself stops at 64 KiB
    )
