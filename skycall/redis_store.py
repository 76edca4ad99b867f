"""Room state in Redis, shared by several workers: the RoomStore contract of skycall.rooms.

Every change that decides something (seat, knock, room full, admit, leave) is one Lua script, so two
workers joining the same room at the same moment are serialised by Redis and never overfill it.

Keys, all under ``prefix`` and all expiring, so that nothing outlives its use:

    room:<room>            hash, the room exists while it does; ``seq`` orders seats and knocks
    room:<room>:members    hash, peer id -> member JSON (with the worker that seated it)
    room:<room>:knocks     hash, peer id -> knock JSON (with its start, Redis time in ms)
    room:<room>:guests     set of peer ids that may come back without knocking
    room:<room>:chat       list of chat message JSON, the last CHAT_HISTORY, at most CHAT_BYTES
    worker:<id>            a worker's heartbeat

(RoomKeys and worker_key in skycall.redis_scripts, with the Lua scripts, name them.)

An empty room lives ``room_ttl_seconds`` from its last activity; an occupied one as long as the
workers of its members beat (each refreshes the rooms it seated people in), plus that TTL. Chat
lives 24 hours after the room's last activity while someone is in the room; it is deleted when the last
member hangs up, and lives CHAT_GRACE_SECONDS more when the last one drops out. Knocks live
KNOCK_TTL_SECONDS after the newest one.

A member whose worker's heartbeat has expired is gone: scripts remove such members as they meet
them, and ``sweep`` hands each removed member out once, for a ``peer-left``.

``find_member``, the signal path's lookup, reads through a Roster: what this worker last read of a
room, forgotten when its members change (``members_changed``) or after a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .config import new_worker_id
from .errors import SkyCallError
from .protocol import ChatMessage
from .redis_scripts import (
    PRELUDE,
    SCRIPTS,
    RoomKeys,
    Ttls,
    chat_constants,
    decode_member,
    decode_members,
    shared_args,
    worker_key,
)
from .rooms import CHAT_BYTES, CHAT_GRACE_SECONDS, CHAT_HISTORY, KNOCK_TTL_SECONDS, Joined, Member
from .roster import Roster

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # a worker silent this long is dead; it beats every third of it
CHAT_TTL_SECONDS = 24 * 3600.0
SCAN_COUNT = 100  # member keys a sweep looks at beyond the rooms this worker seated people in


class RedisRoomStore:
    """Rooms in Redis, for several workers. Call ``start()`` once the event loop runs (the heartbeat)."""

    def __init__(self, client: Redis, *, prefix: str = 'skycall:', room_ttl_seconds: float = 24 * 3600,
                 worker_id: str | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 chat_ttl_seconds: float = CHAT_TTL_SECONDS, chat_grace_seconds: float = CHAT_GRACE_SECONDS) -> None:
        self.prefix = prefix
        self.worker_id = worker_id or new_worker_id()
        self._redis = client
        self._heartbeat_seconds = heartbeat_seconds
        self._ttls = Ttls.of(room_seconds=room_ttl_seconds, heartbeat_seconds=heartbeat_seconds,
                             chat_seconds=chat_ttl_seconds, knock_seconds=KNOCK_TTL_SECONDS)
        self._roster = Roster(self)
        prelude = chat_constants(chat_grace_seconds) + PRELUDE
        self._scripts = {name: client.register_script(prelude + body) for name, body in SCRIPTS.items()}
        self._hosting: dict[str, int] = {}  # rooms this worker seated someone in -> seats given there
        self._departed: deque[tuple[str, Member]] = deque(maxlen=10_000)  # dead members removed, not yet swept
        self._scan_cursor = 0
        self._beating: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # After an outage every heartbeat may have lapsed at once: trust missing ones only once every
        # worker has had a heartbeat's time to beat again.
        self._outage = False
        self._trust_after = 0.0

    @classmethod
    def from_url(cls, url: str, *, prefix: str = 'skycall:', room_ttl_seconds: float = 24 * 3600,
                 worker_id: str | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 chat_grace_seconds: float = CHAT_GRACE_SECONDS) -> RedisRoomStore:
        """A store on ``redis://[:password@]host:port/db`` (or ``rediss://`` for TLS).

        While Redis is away, calls fail within about 2 s instead of hanging; they work again as soon as
        it is back. A refused connection is retried once at once; a timeout is not retried, since the
        script may have run.
        """
        client = Redis.from_url(
            url, decode_responses=True, socket_timeout=1.5, socket_connect_timeout=1.0, health_check_interval=2,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1, supported_errors=(RedisConnectionError,)),
        )
        return cls(client, prefix=prefix, room_ttl_seconds=room_ttl_seconds, worker_id=worker_id,
                   heartbeat_seconds=heartbeat_seconds, chat_grace_seconds=chat_grace_seconds)

    async def start(self) -> None:
        """Start beating. Never raises: a worker started while Redis is down beats once it is back."""
        if self._beating is None or self._beating.done():
            self._stopping = asyncio.Event()
            self._beating = asyncio.create_task(self._heartbeat(), name=f'skycall-heartbeat-{self.worker_id}')

    async def close(self) -> None:
        """Stop beating and say so: other workers then see this worker's members gone at once."""
        if self._beating is not None:
            # Python 3.11's wait_for (inside redis-py) can swallow a cancellation: the flag ends the loop.
            self._stopping.set()
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None
        with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._redis.delete(self._worker_key), 2)
        await self._redis.aclose()

    async def ping(self) -> bool:
        """Whether Redis answers (for /readyz). Never raises."""
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 2))
        except Exception:  # any failure means "not ready"
            return False

    async def create_room(self, room: str) -> None:
        await self._run('create', room)

    async def room_exists(self, room: str) -> bool:
        with self._link():
            return bool(await self._redis.exists(self._keys(room).room))

    async def join(self, room: str, member: Member, max_participants: int) -> Joined:
        payload = json.dumps({'id': member.id, 'name': member.name, 'conn': member.conn})
        result = json.loads(await self._run('join', room, member.id, payload, max_participants))
        self._bury(room, result.get('dead'))
        if result['status'] in ('no-such-room', 'room-full'):
            raise SkyCallError(result['status'])
        others = decode_members(result.get('others'))
        if result['status'] == 'knocking':
            return Joined(seated=False, others=others)
        self._hosting[room] = self._hosting.get(room, 0) + 1
        self._roster.forget(room)
        replaced = decode_member(result['replaced']) if result['replaced'] else None
        return Joined(seated=True, others=others, replaced=replaced)

    async def admit(self, room: str, member_id: str) -> Member | None:
        raw = await self._run('admit', room, member_id)
        return decode_member(raw) if raw else None

    async def withdraw(self, room: str, member_id: str, conn: str | None = None) -> Member | None:
        raw = await self._run('withdraw', room, member_id, int(conn is not None), conn or '')
        return decode_member(raw) if raw else None

    async def leave(self, room: str, member_id: str, conn: str, forget: bool = False) -> Member | None:
        raw = await self._run('leave', room, member_id, conn, int(forget))
        if not raw:
            return None
        result = json.loads(raw)
        self._bury(room, result.get('dead'))
        self._roster.forget(room)
        return decode_member(result['member'])

    async def members(self, room: str) -> list[Member]:
        result = json.loads(await self._run('members', room))
        self._bury(room, result.get('dead'))
        return decode_members(result.get('members'))

    async def find_member(self, room: str, member_id: str) -> Member | None:
        return await self._roster.find(room, member_id)

    def members_changed(self, room: str | None = None) -> None:
        self._roster.forget(room)

    async def knocks(self, room: str) -> list[Member]:
        return decode_members(json.loads(await self._run('knocks', room)))

    async def open_door(self, room: str) -> list[Member]:
        result = json.loads(await self._run('open_door', room))
        self._bury(room, result.get('dead'))
        return decode_members(result.get('admitted'))

    async def add_chat(self, room: str, message: ChatMessage) -> None:
        await self._run('add_chat', room, message.model_dump_json(by_alias=True), CHAT_HISTORY, CHAT_BYTES)

    async def chat_history(self, room: str) -> list[ChatMessage]:
        keys = self._keys(room)
        with self._link():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.exists(keys.room)
                pipe.lrange(keys.chat, 0, -1)
                exists, messages = await pipe.execute()
        return [ChatMessage.model_validate_json(message) for message in messages] if exists else []

    async def sweep(self) -> list[tuple[str, Member]]:
        """Remove the members whose worker died, each handed out once as (room, member) for a `peer-left`.

        Looks at the rooms this worker seated people in, and a further slice of all rooms on each call.
        Raises a RedisError while Redis is away; what was found is kept for the next call.
        """
        if self._trusting():
            rooms = set(self._hosting) | await self._scan_rooms()
            with self._link():
                async with self._redis.pipeline(transaction=False) as pipe:
                    for room in rooms:
                        await self._scripts['sweep'](keys=self._keys(room), args=self._args(), client=pipe)
                    found = await pipe.execute()
            for room, dead in zip(rooms, found, strict=True):
                self._bury(room, json.loads(dead))
        swept = list(self._departed)
        self._departed.clear()
        return swept

    # The machinery below: keys, script calls, heartbeat.

    @property
    def _worker_key(self) -> str:
        return worker_key(self.prefix, self.worker_id)

    def _keys(self, room: str) -> RoomKeys:
        return RoomKeys.of(self.prefix, room)

    def _args(self, *extra: Any) -> list[Any]:
        return shared_args(self.prefix, self.worker_id, self._trusting(), self._ttls, *extra)

    async def _run(self, script: str, room: str, *extra: Any) -> Any:
        with self._link():
            return await self._scripts[script](keys=self._keys(room), args=self._args(*extra))

    @contextlib.contextmanager
    def _link(self) -> Iterator[None]:
        """Note when Redis goes away and comes back (see _trusting)."""
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError):
            if not self._outage:
                log.warning('Redis is unreachable; room calls fail until it is back')
            self._outage = True
            raise
        if self._outage:
            log.warning('Redis is back')
            self._outage = False
            self._trust_after = time.monotonic() + self._heartbeat_seconds

    def _trusting(self) -> bool:
        """Whether a missing heartbeat means a dead worker (not so during an outage and just after)."""
        return not self._outage and time.monotonic() >= self._trust_after

    def _bury(self, room: str, dead: Any) -> None:
        if dead:
            self._departed.extend((room, decode_member(raw)) for raw in dead)
            self._roster.forget(room)

    async def _scan_rooms(self) -> set[str]:
        pattern = f'{_glob_escape(self.prefix)}room:*:members'
        with self._link():
            self._scan_cursor, keys = await self._redis.scan(self._scan_cursor, match=pattern, count=SCAN_COUNT)
        start, end = len(f'{self.prefix}room:'), -len(':members')
        return {str(key)[start:end] for key in keys}

    async def _heartbeat(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._beat()
            except RedisError as error:
                log.debug('heartbeat failed: %s', error)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._heartbeat_seconds / 3)

    async def _beat(self) -> None:
        """Say this worker lives, and keep the rooms it seated people in (while they are there)."""
        hosting = dict(self._hosting)
        with self._link():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._worker_key, '1', px=self._ttls.beat)
                for room in hosting:
                    await self._scripts['keep'](keys=self._keys(room), args=self._args(), client=pipe)
                results = await pipe.execute()
        for (room, seats), kept in zip(hosting.items(), results[1:], strict=True):
            if not kept and self._hosting.get(room) == seats:  # unless someone was seated there meanwhile
                del self._hosting[room]


def _glob_escape(text: str) -> str:
    return ''.join(f'\\{char}' if char in '*?[]\\' else char for char in text)
