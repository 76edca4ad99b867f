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
    # Signs join tickets and what browsers remember (pages/memory.py). Without one, a random secret is made at start:
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
    # Knocks on one room from one client address in any 10 minutes: a knock holds the free seat, so one
    # person knocking again and again would keep everyone else out. Raise it for an office behind one NAT.
    knocks_per_address: int = Field(5, ge=1, le=1_000_000)
    # Let the server's Python peers (the echo line) send connectivity checks to private, loopback and
    # link-local addresses that the other side lists. Off: anyone could make the server probe its own LAN.
    allow_private_candidates: bool = False
    # Host names the site answers to, comma-separated ("*" answers any). The invite link is built from
    # the Host header, so a forged one must not be served. localhost, 127.0.0.1, ::1 and `host` always count.
    allowed_hosts: str = Field('', max_length=4096)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes (comma-separated addresses or
    # networks, "*" any). Unbelieved, everyone behind the proxy shares the proxy's address and its limits.
    forwarded_allow_ips: str = Field('127.0.0.1', max_length=4096)
    # Page views (/, /dial/…, /call/…, /echo) per client address: a burst of `page_burst`, refilled at
    # `page_rate` a second; beyond, 429 (budgets.py). Raise both for many people behind one NAT address.
    page_burst: int = Field(10, ge=1, le=1_000_000)
    page_rate: float = Field(1.0, gt=0, le=1_000_000)
    # Page builds running at once in one worker (the next 64 wait their turn; beyond, 503). Each holds the event
    # loop for tens of ms: more at once make one long stretch that everybody's signals wait behind.
    page_builds_max: int = Field(2, ge=1, le=10_000)

    @property
    def ice_server_urls(self) -> list[str]:
        return [url.strip() for url in self.ice_servers.split(',') if url.strip()]

    @property
    def allowed_host_names(self) -> list[str]:
        """The Host header values served (lower case, IPv6 literals in brackets as Host carries them)."""
        names = [name.strip().lower() for name in self.allowed_hosts.split(',') if name.strip()]
        if '*' in names:
            return ['*']
        listen = [] if self.host in {'0.0.0.0', '::', ''} else [self.host.lower()]
        hosts = ['localhost', '127.0.0.1', '::1', *listen, *names]
        return list(dict.fromkeys(f'[{h.strip("[]")}]' if ':' in h else h for h in hosts))

    def startup_problem(self) -> str | None:
        """Why this configuration must not start, or None."""
        if self.redis_url and 'secret' not in self.model_fields_set:
            return ('SKYCALL_REDIS_URL is set but SKYCALL_SECRET is not: workers sharing Redis must share one '
                    'secret (16+ characters), or each refuses the tickets and storage the others sign. '
                    'Set SKYCALL_SECRET to the same value on every worker.')
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
