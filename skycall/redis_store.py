"""Room state in Redis, shared by several workers: the RoomStore contract of skycall.rooms.

Every change that decides something (seat, knock, room full, admit, leave) is one Lua script, so two
workers joining the same room at the same moment are serialised by Redis and never overfill it.

Keys, all under ``prefix`` and all expiring (threat 12 of the security guide):

    room:<room>            hash, the room exists while it does; ``seq`` orders seats and knocks
    room:<room>:members    hash, peer id -> member JSON (with the worker that seated it)
    room:<room>:knocks     hash, peer id -> knock JSON (with its start, Redis time in ms)
    room:<room>:guests     set of peer ids that may come back without knocking
    room:<room>:chat       list of chat message JSON, the last CHAT_HISTORY
    worker:<id>            a worker's heartbeat

An empty room lives ``room_ttl_seconds`` from its last activity; an occupied one as long as the
workers of its members beat (each refreshes the rooms it seated people in), plus that TTL. Chat
lives 24 hours after the room's last activity, knocks KNOCK_TTL_SECONDS after the newest one.

A member whose worker's heartbeat has expired is gone: scripts remove such members as they meet
them, and ``sweep_dead_members`` hands each removed member out once, for a ``peer-left``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
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

from .errors import SkyCallError
from .protocol import ChatMessage
from .rooms import CHAT_HISTORY, KNOCK_TTL_SECONDS, Joined, Member

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # a worker silent this long is dead; it beats every third of it
CHAT_TTL_SECONDS = 24 * 3600.0
SCAN_COUNT = 100  # member keys a sweep looks at beyond the rooms this worker seated people in


class RedisRoomStore:
    """Rooms in Redis, for several workers. Call ``start()`` once the event loop runs (the heartbeat)."""

    def __init__(self, client: Redis, *, prefix: str = 'skycall:', room_ttl_seconds: float = 24 * 3600,
                 worker_id: str | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 chat_ttl_seconds: float = CHAT_TTL_SECONDS) -> None:
        self.prefix = prefix
        self.worker_id = worker_id or f'{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}'
        self._redis = client
        self._heartbeat_seconds = heartbeat_seconds
        # The TTLs every script gets, in milliseconds: an occupied room outlives its workers' last beat
        # by a room TTL, as if it had become empty when they died.
        self._ttls = [_ms(room_ttl_seconds), _ms(room_ttl_seconds + heartbeat_seconds), _ms(chat_ttl_seconds),
                      _ms(KNOCK_TTL_SECONDS), _ms(heartbeat_seconds)]
        self._scripts = {name: client.register_script(PRELUDE + body) for name, body in SCRIPTS.items()}
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
                 worker_id: str | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> RedisRoomStore:
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
                   heartbeat_seconds=heartbeat_seconds)

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
            return bool(await self._redis.exists(self._keys(room)[0]))

    async def join(self, room: str, member: Member, max_participants: int) -> Joined:
        payload = json.dumps({'id': member.id, 'name': member.name, 'conn': member.conn})
        result = json.loads(await self._run('join', room, member.id, payload, max_participants))
        self._bury(room, result.get('dead'))
        if result['status'] in ('no-such-room', 'room-full'):
            raise SkyCallError(result['status'])
        others = _members(result.get('others'))
        if result['status'] == 'knocking':
            return Joined(seated=False, others=others)
        self._hosting[room] = self._hosting.get(room, 0) + 1
        return Joined(seated=True, others=others, replaced=_member(result['replaced']) if result['replaced'] else None)

    async def admit(self, room: str, member_id: str) -> Member | None:
        raw = await self._run('admit', room, member_id)
        return _member(raw) if raw else None

    async def withdraw(self, room: str, member_id: str, conn: str | None = None) -> Member | None:
        raw = await self._run('withdraw', room, member_id, int(conn is not None), conn or '')
        return _member(raw) if raw else None

    async def leave(self, room: str, member_id: str, conn: str, forget: bool = False) -> Member | None:
        raw = await self._run('leave', room, member_id, conn, int(forget))
        if not raw:
            return None
        result = json.loads(raw)
        self._bury(room, result.get('dead'))
        return _member(result['member'])

    async def members(self, room: str) -> list[Member]:
        result = json.loads(await self._run('members', room))
        self._bury(room, result.get('dead'))
        return _members(result.get('members'))

    async def knocks(self, room: str) -> list[Member]:
        return _members(json.loads(await self._run('knocks', room)))

    async def add_chat(self, room: str, message: ChatMessage) -> None:
        await self._run('add_chat', room, message.model_dump_json(by_alias=True), CHAT_HISTORY)

    async def chat_history(self, room: str) -> list[ChatMessage]:
        keys = self._keys(room)
        with self._link():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.exists(keys[0])
                pipe.lrange(keys[4], 0, -1)
                exists, messages = await pipe.execute()
        return [ChatMessage.model_validate_json(message) for message in messages] if exists else []

    async def sweep_dead_members(self) -> list[tuple[str, Member]]:
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
        return f'{self.prefix}worker:{self.worker_id}'

    def _keys(self, room: str) -> list[str]:
        base = f'{self.prefix}room:{room}'
        return [base, f'{base}:members', f'{base}:knocks', f'{base}:guests', f'{base}:chat']

    def _args(self, *extra: Any) -> list[Any]:
        return [f'{self.prefix}worker:', self.worker_id, int(self._trusting()), *self._ttls, *extra]

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
        self._departed.extend((room, _member(raw)) for raw in dead or ())

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
                pipe.set(self._worker_key, '1', px=self._ttls[4])
                for room in hosting:
                    await self._scripts['keep'](keys=self._keys(room), args=self._args(), client=pipe)
                results = await pipe.execute()
        for (room, seats), kept in zip(hosting.items(), results[1:], strict=True):
            if not kept and self._hosting.get(room) == seats:  # unless someone was seated there meanwhile
                del self._hosting[room]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _member(raw: str) -> Member:
    data = json.loads(raw)
    return Member(data['id'], data['name'], data['conn'], data.get('worker', ''))


def _members(raws: Any) -> list[Member]:
    """Members from the scripts' JSON, oldest seat (or knock) first. An empty Lua table comes as {}."""
    entries = sorted((json.loads(raw) for raw in raws or ()), key=lambda data: data['seq'])
    return [Member(data['id'], data['name'], data['conn'], data.get('worker', '')) for data in entries]


def _glob_escape(text: str) -> str:
    return ''.join(f'\\{char}' if char in '*?[]\\' else char for char in text)


# The Lua scripts. Each gets KEYS = the five keys of one room (see _keys) and ARGV = _args(...): the
# heartbeat key prefix, this worker's id, whether missing heartbeats count as dead, the TTLs (ms), then
# its own arguments from ARGV[9] on. Member and knock values are JSON objects with id, name, conn,
# worker and seq (knocks also since). Heartbeat keys are computed in the scripts: fine on one Redis
# server, not on a Redis Cluster.
PRELUDE = r"""
local WORKERS, ME, PRUNE = ARGV[1], ARGV[2], ARGV[3] == '1'
local ROOM_TTL, BUSY_TTL, CHAT_TTL = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local KNOCK_TTL, BEAT_TTL = tonumber(ARGV[7]), tonumber(ARGV[8])
local ROOM, MEMBERS, KNOCKS, GUESTS, CHAT = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function alive(worker)
  return not PRUNE or worker == ME or redis.call('EXISTS', WORKERS .. worker) == 1
end

-- The seated members as {id, raw, m}; those of dead workers are removed and returned as `dead`,
-- except `keep` (a reload taking over its own seat replaces it instead).
local function seated(keep)
  local live, dead = {}, {}
  local flat = redis.call('HGETALL', MEMBERS)
  for i = 1, #flat, 2 do
    local m = cjson.decode(flat[i + 1])
    if flat[i] == keep or alive(m.worker) then
      live[#live + 1] = {id = flat[i], raw = flat[i + 1], m = m}
    else
      redis.call('HDEL', MEMBERS, flat[i])
      dead[#dead + 1] = flat[i + 1]
    end
  end
  return live, dead
end

-- Activity: an empty room lives ROOM_TTL from now, an occupied one while its workers keep it.
local function touch()
  local ttl = ROOM_TTL
  if redis.call('EXISTS', MEMBERS) == 1 then ttl = BUSY_TTL end
  redis.call('PEXPIRE', ROOM, ttl)
  redis.call('PEXPIRE', MEMBERS, ttl)
  redis.call('PEXPIRE', GUESTS, ttl)
  redis.call('PEXPIRE', CHAT, math.max(ttl, CHAT_TTL))
end

local function seq(old)
  if old then return cjson.decode(old).seq end
  return redis.call('HINCRBY', ROOM, 'seq', 1)
end
"""

SCRIPTS = {
    'create': r"""
if redis.call('EXISTS', ROOM) == 1 then return 0 end
redis.call('DEL', MEMBERS, KNOCKS, GUESTS, CHAT)  -- leftovers of an expired room of the same name
redis.call('HSET', ROOM, 'seq', 0)
redis.call('PEXPIRE', ROOM, ROOM_TTL)
return 1
""",
    'join': r"""
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode({status = 'no-such-room'}) end
redis.call('SET', WORKERS .. ME, '1', 'PX', BEAT_TTL)
local id, member, max = ARGV[9], cjson.decode(ARGV[10]), tonumber(ARGV[11])
local now = now_ms()
local live, dead = seated(id)
local replaced, others = nil, {}
for _, e in ipairs(live) do
  if e.id == id then replaced = e else others[#others + 1] = e.raw end
end
local welcome = #others == 0 or replaced ~= nil or redis.call('SISMEMBER', GUESTS, id) == 1
local waiting = 0  -- a seat is promised to each person knocking right now
if not welcome then
  local flat = redis.call('HGETALL', KNOCKS)
  for i = 1, #flat, 2 do
    local k = cjson.decode(flat[i + 1])
    if flat[i] ~= id and now - k.since <= KNOCK_TTL and alive(k.worker) then waiting = waiting + 1 end
  end
end
member.worker = ME
if #others + waiting >= max then
  touch()
  return cjson.encode({status = 'room-full', dead = dead})
end
if not welcome then
  member.seq, member.since = seq(redis.call('HGET', KNOCKS, id)), now
  redis.call('HSET', KNOCKS, id, cjson.encode(member))
  redis.call('PEXPIRE', KNOCKS, KNOCK_TTL)
  touch()
  return cjson.encode({status = 'knocking', others = others, dead = dead})
end
redis.call('HDEL', KNOCKS, id)
member.seq = seq(replaced and replaced.raw)
redis.call('HSET', MEMBERS, id, cjson.encode(member))
redis.call('SADD', GUESTS, id)
touch()
return cjson.encode({status = 'seated', others = others, replaced = replaced and replaced.raw or false, dead = dead})
""",
    'admit': r"""
if redis.call('EXISTS', ROOM) == 0 then return false end
local raw = redis.call('HGET', KNOCKS, ARGV[9])
if not raw then return false end
redis.call('HDEL', KNOCKS, ARGV[9])
local k = cjson.decode(raw)
if now_ms() - k.since > KNOCK_TTL or not alive(k.worker) then return false end
redis.call('SADD', GUESTS, ARGV[9])
redis.call('PEXPIRE', GUESTS, math.max(redis.call('PTTL', ROOM), 1))
return raw
""",
    'withdraw': r"""
local raw = redis.call('HGET', KNOCKS, ARGV[9])
if not raw or (ARGV[10] == '1' and cjson.decode(raw).conn ~= ARGV[11]) then return false end
redis.call('HDEL', KNOCKS, ARGV[9])
return raw
""",
    'leave': r"""
local raw = redis.call('HGET', MEMBERS, ARGV[9])
if not raw or cjson.decode(raw).conn ~= ARGV[10] then return false end
redis.call('HDEL', MEMBERS, ARGV[9])
if ARGV[11] == '1' then redis.call('SREM', GUESTS, ARGV[9]) end
local _, dead = seated(nil)  -- so that a room left to dead workers' members starts its countdown
touch()
return cjson.encode({member = raw, dead = dead})
""",
    'members': r"""
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode({}) end
local live, dead = seated(nil)
if #dead > 0 then touch() end
local raws = {}
for _, e in ipairs(live) do raws[#raws + 1] = e.raw end
return cjson.encode({members = raws, dead = dead})
""",
    'knocks': r"""
local out = {}
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode(out) end
local now = now_ms()
for _, raw in ipairs(redis.call('HVALS', KNOCKS)) do
  local k = cjson.decode(raw)
  if now - k.since <= KNOCK_TTL and alive(k.worker) then out[#out + 1] = raw end
end
return cjson.encode(out)
""",
    'add_chat': r"""
if redis.call('EXISTS', ROOM) == 0 then return 0 end
redis.call('RPUSH', CHAT, ARGV[9])
redis.call('LTRIM', CHAT, -tonumber(ARGV[10]), -1)
touch()
return 1
""",
    'sweep': r"""
local _, dead = seated(nil)
if #dead > 0 then touch() end
return cjson.encode(dead)
""",
    'keep': r"""
for _, raw in ipairs(redis.call('HVALS', MEMBERS)) do
  if cjson.decode(raw).worker == ME then
    touch()
    return 1
  end
end
return 0
""",
}
