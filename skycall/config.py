"""Settings from the environment (``SKYCALL_*``), read once into one frozen object."""

from __future__ import annotations

import os
import secrets
import socket
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def new_worker_id() -> str:
    """A name for this worker process that no other one has: host, process id and a random part."""
    return f'{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}'


class Settings(BaseSettings):
    """SkyCall's configuration. Every field can be set as ``SKYCALL_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix='SKYCALL_', frozen=True)

    host: str = '127.0.0.1'
    port: int = Field(8080, ge=1, le=65535)
    # Signs join tickets and NiceGUI's browser storage. Without one, a random secret is made at start:
    # fine for one process, but several workers must share one.
    secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=16)
    # Several workers: room state, chat history and the relay between workers live in this Redis.
    redis_url: str | None = None
    redis_prefix: str = Field('skycall:', pattern=r'^[A-Za-z0-9_:.-]{1,32}$')
    # Names this process in Redis (its heartbeat, the members it seats).
    worker_id: str = Field(default_factory=new_worker_id, max_length=128)
    max_participants: int = Field(2, ge=2, le=16)
    # How long a room with nobody in it is kept.
    room_ttl_seconds: int = Field(24 * 3600, ge=60)
    ticket_max_age_seconds: int = Field(15 * 60, ge=30)
    # How long a knock rings before the server ends it ("No answer"); the store keeps a knock longer
    # (rooms.KNOCK_TTL_SECONDS).
    ring_timeout_seconds: float = Field(30.0, ge=1.0, le=60.0)
    # ICE servers handed to browsers, comma-separated URLs (e.g. "stun:stun.example.org:3478").
    ice_servers: str = ''
    # NiceGUI reloads a page whose websocket stays away longer than this; a reload ends a call.
    reconnect_timeout_seconds: float = Field(30.0, ge=3.0)
    # Echo test calls (a server-side aiortc peer each) that may run at once in this worker.
    echo_max: int = Field(4, ge=0, le=64)
    # Let the server's Python peers (the echo line) send connectivity checks to private, loopback and
    # link-local addresses that the other side lists. Off: anyone could make the server probe its own LAN.
    allow_private_candidates: bool = False

    @property
    def ice_server_urls(self) -> list[str]:
        return [url.strip() for url in self.ice_servers.split(',') if url.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
