"""The one place that wires the store, the signaling server, the API and the pages together."""

from __future__ import annotations

import asyncio
import logging
import resource
from pathlib import Path

import socketio
from nicegui import app, ui

from . import api, security
from .calls import Calls
from .config import Settings, get_settings
from .echo import EchoLine
from .pages import call_routes, echo, home, memory
from .redis_store import RedisRoomStore
from .relay import RedisRelay
from .rooms import MemoryRoomStore, RoomStore
from .signaling import SOCKETIO_PATH, SignalingNamespace, create_server
from .tickets import TicketMint

ASSETS = Path(__file__).resolve().parent.parent / 'assets'
log = logging.getLogger('skycall')
SWEEP_SECONDS = 3.0


def build(settings: Settings) -> Calls:
    """Create the store and the services, mount the signaling server, register API and pages."""
    store, relay = _state(settings)
    _browser_storage(settings.secret)
    calls = Calls(store, TicketMint(settings.secret, settings.ticket_max_age_seconds))
    signaling, namespace = create_server(store, calls.mint, settings.max_participants, relay,
                                         ring_timeout_seconds=settings.ring_timeout_seconds,
                                         knocks_per_address=settings.knocks_per_address)
    # Starlette's Mount keeps the full path in scope['path'], so engine.io is given the full path.
    app.mount('/signal', socketio.ASGIApp(signaling, socketio_path=SOCKETIO_PATH))
    app.add_static_files('/assets', ASSETS)
    security.install(app, settings)
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
    call_routes.register(calls, ice_servers, ticket_refresh_seconds=settings.ticket_max_age_seconds / 3,
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
    # The relay addresses workers by the ids the store records with each member.
    return store, RedisRelay(settings.redis_url, channel=f'{settings.redis_prefix}socketio',
                             worker_id=settings.worker_id)


def _browser_storage(secret: str) -> None:
    """What a browser remembers is a signed cookie of SkyCall's own (pages/memory.py), written on Join.

    NiceGUI's user storage is off (no storage_secret in ui.run): its middleware would create a storage
    for every request, a file in memory mode, or a Redis connection with a key that never expires. Its
    storage is not given Redis either: tab storage there would be a Redis client and key per page.
    """
    memory.configure(secret)
    # NiceGUI keeps a tab storage (an empty dict here, SkyCall stores nothing in it) for every browser tab
    # that opened a page, 30 days by default: an hour after its last change is plenty.
    app.storage.max_tab_storage_age = 3600


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


def raise_file_limit() -> None:
    """Every socket holds a file descriptor: take all the open files the system allows this process (the
    soft limit is often 1,024; the per-address caps in transport.py then decide who gets them)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    raise_file_limit()
    settings = get_settings()
    if problem := settings.startup_problem():
        raise SystemExit(f'SkyCall cannot start: {problem}')
    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='SkyCall',
        favicon=(ASSETS / 'logo.svg').read_text(),  # inline in each page: no /favicon.ico request
        reconnect_timeout=settings.reconnect_timeout_seconds,
        show=False,
        tailwind=False,  # SkyCall's few utility classes are its own CSS (pages/frame.py)
        reload=False,
        uvicorn_logging_level='warning',
        ws_max_size=128 * 1024,  # no client sends big frames; signaling itself stops at 64 KiB
        forwarded_allow_ips=settings.forwarded_allow_ips,  # whose X-Forwarded-For/-Proto to believe
    )
