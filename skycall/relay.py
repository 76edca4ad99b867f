"""Relaying socket.io events between workers through Redis, without python-socketio's long silences.

python-socketio's AsyncRedisManager drops a message it cannot publish with only a log line, and its
listener backs off for up to 60 s after Redis comes back. SkyCall needs the opposite: a sender is
told when a message did not go out, and the relay works again within moments of Redis returning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio

from .errors import SkyCallError

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 0.5
REDIS_OPTIONS = {'socket_connect_timeout': 1.0, 'health_check_interval': 2}


class RedisRelay(socketio.AsyncRedisManager):
    """An AsyncRedisManager that fails loudly and reconnects fast. ``listening`` tells /readyz."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, redis_options=dict(REDIS_OPTIONS))
        self.connected: bool = False
        self.listening = False

    async def _publish(self, data: Any) -> Any:
        error: Exception | None = None
        for _attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:  # noqa: BLE001 (any failure means: not relayed)
                self.connected = False
                error = exc
        log.warning('relay: could not publish to Redis (%s)', error)
        raise SkyCallError('unavailable') from error

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        delay = RETRY_FIRST_SECONDS
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    self.listening = True
                    delay = RETRY_FIRST_SECONDS
                    log.info('relay: listening on Redis')
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 (Redis went away: retry soon, whatever the cause)
                if self.listening:
                    log.warning('relay: lost Redis (%s); retrying every %.1f s at most', exc, RETRY_MAX_SECONDS)
                self.listening = False
                subscribed = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
