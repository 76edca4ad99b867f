"""The Redis room store's Lua scripts, the keys and arguments they are given, and what they answer.

Every script gets KEYS = the five keys of one room (RoomKeys, in that order) and ARGV = the arguments
every script shares (``shared_args``: the heartbeat key prefix, this worker's id, whether a missing
heartbeat means a dead worker, then the Ttls in milliseconds), followed by its own from ARGV[9] on.
PRELUDE names the shared ones; each script names its own on its first line.

The chat grace period (CHAT_GRACE, ms) is written into the scripts' text by ``chat_constants``: scripts of
stores with different grace periods differ, and the shared arguments stay as they are.

Member and knock values are JSON objects with id, name, conn, worker and seq (knocks also since, Redis
time in ms). Heartbeat keys are computed in the scripts: fine on one Redis server, not on a Redis Cluster.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .rooms import Member


class RoomKeys(NamedTuple):
    """The keys of one room, in the order the scripts get them as KEYS."""

    room: str  # hash: the room exists while it does; ``seq`` orders seats and knocks, ``chat_bytes`` sizes chat
    members: str  # hash: peer id -> member JSON (with the worker that seated it)
    knocks: str  # hash: peer id -> knock JSON (with its start)
    guests: str  # set of peer ids that may come back without knocking
    chat: str  # list of chat message JSON, the last CHAT_HISTORY and at most CHAT_BYTES

    @classmethod
    def of(cls, prefix: str, room: str) -> RoomKeys:
        base = f'{prefix}room:{room}'
        return cls(base, f'{base}:members', f'{base}:knocks', f'{base}:guests', f'{base}:chat')


class Ttls(NamedTuple):
    """How long keys live, in milliseconds, in the order the scripts get them (ARGV[4] to ARGV[8])."""

    room: int  # an empty room, from its last activity
    busy: int  # an occupied room, from its workers' last heartbeat
    chat: int  # chat, from the room's last activity (at least as long as the room)
    knock: int  # knocks, from the newest one
    beat: int  # a worker's heartbeat

    @classmethod
    def of(cls, *, room_seconds: float, heartbeat_seconds: float, chat_seconds: float,
           knock_seconds: float) -> Ttls:
        # An occupied room outlives its workers' last beat by a room TTL, as if it had become empty
        # when they died.
        return cls(_ms(room_seconds), _ms(room_seconds + heartbeat_seconds), _ms(chat_seconds),
                   _ms(knock_seconds), _ms(heartbeat_seconds))


def worker_key(prefix: str, worker_id: str) -> str:
    """The heartbeat key of a worker (PRELUDE builds the same from WORKERS and an id)."""
    return f'{prefix}worker:{worker_id}'


def shared_args(prefix: str, worker_id: str, trusting: bool, ttls: Ttls, *own: Any) -> list[Any]:
    """ARGV for a script: the shared arguments (see PRELUDE), then the script's own."""
    return [worker_key(prefix, ''), worker_id, int(trusting), *ttls, *own]


def chat_constants(grace_seconds: float) -> str:
    """The Lua line that sets CHAT_GRACE: how long the history of a room emptied by a drop waits."""
    return f'local CHAT_GRACE = {_ms(grace_seconds)}\n'


def decode_member(raw: str) -> Member:
    data = json.loads(raw)
    return Member(data['id'], data['name'], data['conn'], data.get('worker', ''))


def decode_members(raws: Any) -> list[Member]:
    """Members from the scripts' JSON, oldest seat (or knock) first. An empty Lua table comes as {}."""
    entries = sorted((json.loads(raw) for raw in raws or ()), key=lambda data: data['seq'])
    return [Member(data['id'], data['name'], data['conn'], data.get('worker', '')) for data in entries]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


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

-- Activity: an empty room lives ROOM_TTL from now, an occupied one while its workers keep it. The chat of
-- an occupied room lives CHAT_TTL; once the room is empty (a drop, a dead worker: a hang-up deletes it),
-- CHAT_GRACE at most, for whoever dropped out to come back to.
local function touch()
  local ttl = ROOM_TTL
  local occupied = redis.call('EXISTS', MEMBERS) == 1
  if occupied then ttl = BUSY_TTL end
  redis.call('PEXPIRE', ROOM, ttl)
  redis.call('PEXPIRE', MEMBERS, ttl)
  redis.call('PEXPIRE', GUESTS, ttl)
  local chat_ttl = redis.call('PTTL', CHAT)
  if occupied or chat_ttl == -1 then
    redis.call('PEXPIRE', CHAT, math.max(ttl, CHAT_TTL))
  elseif chat_ttl > CHAT_GRACE then
    redis.call('PEXPIRE', CHAT, CHAT_GRACE)
  end
end

local function seq(old)
  if old then return cjson.decode(old).seq end
  return redis.call('HINCRBY', ROOM, 'seq', 1)
end
"""

SCRIPTS = {
    'create': r"""
-- no arguments of its own
if redis.call('EXISTS', ROOM) == 1 then return 0 end
redis.call('DEL', MEMBERS, KNOCKS, GUESTS, CHAT)  -- leftovers of an expired room of the same name
redis.call('HSET', ROOM, 'seq', 0)
redis.call('PEXPIRE', ROOM, ROOM_TTL)
return 1
""",
    'join': r"""
local id, member, max = ARGV[9], cjson.decode(ARGV[10]), tonumber(ARGV[11])
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode({status = 'no-such-room'}) end
redis.call('SET', WORKERS .. ME, '1', 'PX', BEAT_TTL)
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
local id = ARGV[9]
if redis.call('EXISTS', ROOM) == 0 then return false end
local raw = redis.call('HGET', KNOCKS, id)
if not raw then return false end
redis.call('HDEL', KNOCKS, id)
local k = cjson.decode(raw)
if now_ms() - k.since > KNOCK_TTL or not alive(k.worker) then return false end
redis.call('SADD', GUESTS, id)
redis.call('PEXPIRE', GUESTS, math.max(redis.call('PTTL', ROOM), 1))
return raw
""",
    'withdraw': r"""
local id, only_conn, conn = ARGV[9], ARGV[10] == '1', ARGV[11]
local raw = redis.call('HGET', KNOCKS, id)
if not raw or (only_conn and cjson.decode(raw).conn ~= conn) then return false end
redis.call('HDEL', KNOCKS, id)
return raw
""",
    'leave': r"""
local id, conn, forget = ARGV[9], ARGV[10], ARGV[11] == '1'
local raw = redis.call('HGET', MEMBERS, id)
if not raw or cjson.decode(raw).conn ~= conn then return false end
redis.call('HDEL', MEMBERS, id)
if forget then redis.call('SREM', GUESTS, id) end
local live, dead = seated(nil)  -- so that a room left to dead workers' members starts its countdown
if forget and #live == 0 then  -- the last one hung up: the chat goes with them
  redis.call('DEL', CHAT)
  redis.call('HDEL', ROOM, 'chat_bytes')
end
touch()
return cjson.encode({member = raw, dead = dead})
""",
    'members': r"""
-- no arguments of its own
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode({}) end
local live, dead = seated(nil)
if #dead > 0 then touch() end
local raws = {}
for _, e in ipairs(live) do raws[#raws + 1] = e.raw end
return cjson.encode({members = raws, dead = dead})
""",
    'knocks': r"""
-- no arguments of its own
local out = {}
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode(out) end
local now = now_ms()
for _, raw in ipairs(redis.call('HVALS', KNOCKS)) do
  local k = cjson.decode(raw)
  if now - k.since <= KNOCK_TTL and alive(k.worker) then out[#out + 1] = raw end
end
return cjson.encode(out)
""",
    'open_door': r"""
-- no arguments of its own
if redis.call('EXISTS', ROOM) == 0 then return cjson.encode({}) end
local live, dead = seated(nil)
if #dead > 0 then touch() end
if #live > 0 then return cjson.encode({dead = dead}) end
local now, admitted = now_ms(), {}
for _, raw in ipairs(redis.call('HVALS', KNOCKS)) do
  local k = cjson.decode(raw)
  if now - k.since <= KNOCK_TTL and alive(k.worker) then
    admitted[#admitted + 1] = raw
    redis.call('SADD', GUESTS, k.id)
  end
end
redis.call('DEL', KNOCKS)
if #admitted > 0 then redis.call('PEXPIRE', GUESTS, math.max(redis.call('PTTL', ROOM), 1)) end
return cjson.encode({admitted = admitted, dead = dead})
""",
    'add_chat': r"""
local message, keep, budget = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
if redis.call('EXISTS', ROOM) == 0 then return 0 end
local bytes = 0  -- the JSON bytes kept; a list that expired took its count with it
if redis.call('EXISTS', CHAT) == 1 then bytes = tonumber(redis.call('HGET', ROOM, 'chat_bytes') or '0') end
bytes = bytes + #message
local count = redis.call('RPUSH', CHAT, message)
while count > 1 and (count > keep or bytes > budget) do  -- oldest first; the newest always stays
  bytes = bytes - #redis.call('LPOP', CHAT)
  count = count - 1
end
redis.call('HSET', ROOM, 'chat_bytes', bytes)
touch()
return 1
""",
    'sweep': r"""
-- no arguments of its own
local _, dead = seated(nil)
if #dead > 0 then touch() end
return cjson.encode(dead)
""",
    'keep': r"""
-- no arguments of its own
for _, raw in ipairs(redis.call('HVALS', MEMBERS)) do
  if cjson.decode(raw).worker == ME then
    touch()
    return 1
  end
end
return 0
""",
}
