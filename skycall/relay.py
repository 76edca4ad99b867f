"""Relaying socket.io events between workers through Redis, without python-socketio's long silences.

python-socketio's AsyncRedisManager drops a message it cannot publish with only a log line, and its
listener backs off for up to 60 s after Redis comes back. SkyCall needs the opposite: a sender is
told when a message did not go out, and the relay works again within moments of Redis returning.

It also costs less per message than AsyncRedisManager, which publishes every emit on one channel that
every worker decodes, through a pool that opens a new connection for each concurrent publish (and
reopens the pool when one fails): under load that turned into a collapse. Here:

- an event for a connection of this worker is delivered here, without Redis;
- an event for one peer goes only to the channel of the worker that holds it (``emit_to``); events
  for a whole room still go to the channel every worker hears;
- publishes share one connection: those that wait while a batch is in flight go out as the next
  batch, in one pipeline;
- messages are JSON through orjson.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import socketio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from .errors import SkyCallError

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 0.5
REDIS_OPTIONS = {'socket_connect_timeout': 1.0, 'health_check_interval': 2}
PUBLISH_TIMEOUT_SECONDS = 1.5  # a Redis that does not answer (paused, cut off) fails the batch after this


class RedisRelay(socketio.AsyncRedisManager):
    """An AsyncRedisManager that fails loudly, reconnects fast and publishes to one worker when it can.

    ``worker_id`` must be the store's: members record the worker that seated them, and ``emit_to``
    addresses that worker's channel. ``listening`` tells /readyz. ``room_listeners`` are called with
    (event, room) for every event sent to a room, from this worker or another one, and with (None,
    None) when the relay has listened again after losing Redis (events may have been missed).
    """

    def __init__(self, url: str, channel: str, worker_id: str) -> None:
        super().__init__(url, channel=channel, redis_options=dict(REDIS_OPTIONS))
        self.worker_id = worker_id
        self.listening = False
        self.room_listeners: list[Callable[[str | None, str | None], None]] = []
        self._own_channel = _worker_channel(channel, worker_id)
        self._publisher = _Publisher(url)

    async def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if not kwargs.get('ignore_queue') and callback is None and self._is_here(room, namespace or '/'):
            kwargs['ignore_queue'] = True  # one of this worker's connections: no other worker needs it
        await super().emit(event, data, namespace=namespace or '/', room=room, skip_sid=skip_sid, callback=callback,
                           **kwargs)

    async def emit_to(self, worker: str, event: str, data: Any, room: str, namespace: str = '/') -> None:
        """Send ``event`` to ``room`` on ``worker`` only. Raises SkyCallError('unavailable') when it cannot
        be published or when that worker does not listen (it died, or has not heard Redis again yet)."""
        if worker == self.worker_id:
            await super().emit(event, data, namespace=namespace, room=room, ignore_queue=True)
            return
        message = {'method': 'emit', 'event': event, 'data': [data], 'binary': False, 'namespace': namespace,
                   'room': room, 'skip_sid': None, 'callback': None, 'host_id': self.host_id}
        if not await self._publish_on(_worker_channel(self.channel, worker), message):
            raise SkyCallError('unavailable')

    async def close(self) -> None:
        """Close the publishing connection (the listener ends with the event loop)."""
        await self._publisher.close()

    async def _publish(self, data: Any) -> Any:
        return await self._publish_on(self.channel, data)

    async def _publish_on(self, channel: str, data: Any) -> int:
        try:
            return await self._publisher.publish(channel, _dumps(data))
        except Exception as error:  # noqa: BLE001 (any failure means: not relayed)
            log.warning('relay: could not publish to Redis (%s)', error)
            raise SkyCallError('unavailable') from error

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        room = message.get('room')
        if isinstance(room, str):
            for listener in self.room_listeners:
                listener(message.get('event'), room)
        await super()._handle_emit(message)

    def _is_here(self, room: Any, namespace: str) -> bool:
        """Whether ``room`` is a connection of this worker (python-socketio puts each in a room of its sid)."""
        return isinstance(room, str) and self.is_connected(room, namespace)

    async def _listen(self) -> AsyncIterator[Any]:
        channels = {self.channel.encode(), self._own_channel.encode()}
        async for message in self._redis_listen_with_retries():
            if message['type'] == 'message' and message['channel'] in channels:
                yield _loads(message['data'])

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        delay = RETRY_FIRST_SECONDS
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel, self._own_channel)
                    subscribed = True
                    self.listening = True
                    delay = RETRY_FIRST_SECONDS
                    log.info('relay: listening on Redis')
                    for listener in self.room_listeners:
                        listener(None, None)  # whatever was published meanwhile went unheard
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 (Redis went away: retry soon, whatever the cause)
                if self.listening:
                    log.warning('relay: lost Redis (%s); retrying every %.1f s at most', exc, RETRY_MAX_SECONDS)
                self.listening = False
                subscribed = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)


class _Publisher:
    """PUBLISH through one connection. Messages that arrive while a batch is in flight are sent together
    as the next batch, in one pipeline: one round trip and one pass through redis-py per batch."""

    def __init__(self, url: str) -> None:
        # No retries inside redis-py (its default backs off for seconds): one reconnect, here, at once.
        self._redis = Redis.from_url(url, socket_timeout=PUBLISH_TIMEOUT_SECONDS, socket_connect_timeout=1.0,
                                     health_check_interval=2, max_connections=4, retry=Retry(NoBackoff(), 0))
        self._waiting: list[tuple[str, bytes, asyncio.Future[int]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def publish(self, channel: str, payload: bytes) -> int:
        """How many subscribers received it. Raises what Redis raised."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((channel, payload, future))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send_all())
        return await future

    async def close(self) -> None:
        await self._redis.aclose()

    async def _send_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                received = await self._send(batch)
            except Exception as error:  # noqa: BLE001 (every publisher of the batch hears why)
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, _, future), count in zip(batch, received, strict=True):
                if not future.done():
                    future.set_result(int(count))

    async def _send(self, batch: list[tuple[str, bytes, asyncio.Future[int]]]) -> list[Any]:
        for attempt in (1, 2):
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, payload, _ in batch:
                        pipe.publish(channel, payload)
                    return list(await pipe.execute())
            except RedisConnectionError:  # mostly a connection that died with a restarted Redis: once more, afresh
                if attempt == 2:
                    raise
        raise AssertionError('unreachable')


def _worker_channel(channel: str, worker_id: str) -> str:
    return f'{channel}:worker:{worker_id}'


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # what orjson refuses (non-string keys, huge integers), the standard library may take
        return json.dumps(data, separators=(',', ':')).encode()


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # not one of ours: python-socketio's listener skips it
