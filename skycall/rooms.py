"""Room state behind one small async interface, and its in-memory implementation.

Everything crosses the interface by value (plain dataclasses), never as shared mutable objects, so
that a Redis implementation can stand in for the memory one without the callers noticing.

A room has members (seated: they signal and chat), knocks (people waiting to be let in) and a guest
list (peer ids that were let in once, or founded the room, and may come back without knocking: a
reload, a lost connection).

Chat history is bounded: the last CHAT_HISTORY messages of a room, and no more than CHAT_BYTES of them (as
JSON, the oldest dropped first). It belongs to the people in the call: when the last member hangs up it is
dropped, so whoever opens the link later does not read it; when the last member only drops (a lost
connection, a reload, a worker that died) it waits CHAT_GRACE_SECONDS for someone to come back, then goes.
The memory store also keeps history for at most ``chat_rooms`` rooms, dropping the history written to least
recently first; in Redis every key expires, and ``maxmemory`` bounds the whole (README, "Several workers").
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Protocol

from .errors import SkyCallError
from .protocol import ChatMessage

# Longer than any ring timeout (config: at most 60 s): the signaling server ends a knock at its ring
# timeout; this only clears one whose worker could not (it died, or lost Redis).
KNOCK_TTL_SECONDS = 90.0
CHAT_HISTORY = 500  # messages kept per room
CHAT_BYTES = 64 * 1024  # and at most this much of them, as JSON (the newest message is always kept)
CHAT_ROOMS = 1000  # rooms whose history the memory store keeps: about 70 MB at most
CHAT_GRACE_SECONDS = 120.0  # history of a room its last member dropped out of, kept for their return


def chat_json(message: ChatMessage) -> bytes:
    """A message as the stores keep it: its wire JSON in UTF-8 (compact, and shared by value only)."""
    return message.model_dump_json(by_alias=True).encode()


def chat_size(message: ChatMessage) -> int:
    """What a message counts against CHAT_BYTES: the length of its ``chat_json``."""
    return len(chat_json(message))


@dataclass(frozen=True, slots=True)
class Member:
    """A participant of one room. ``conn`` names the connection that holds the seat, ``worker`` the
    process that holds that connection ('' in a one-process store); both are server-only."""

    id: str
    name: str
    conn: str
    worker: str = field(default='', compare=False)

    def public(self) -> dict[str, str]:
        return {'id': self.id, 'name': self.name}


@dataclass(frozen=True, slots=True)
class Joined:
    """The outcome of a join: seated or knocking, the members already there, a replaced connection."""

    seated: bool
    others: list[Member]
    replaced: Member | None = None


class RoomStore(Protocol):
    """Where rooms, members, knocks and chat live. Implementations: MemoryRoomStore (one process) and
    RedisRoomStore (skycall.redis_store: several workers). tests/test_rooms.py runs this contract
    against both.

    Members and knocks are handed out oldest first, and by value. A store shared by several workers
    also notices workers that died: their members are removed, and ``sweep`` hands each out once.
    """

    async def start(self) -> None:
        """Begin the store's own background work (the Redis store's heartbeat). Never raises."""
    async def ping(self) -> bool:
        """Whether the store answers (for /readyz). Never raises."""
    async def sweep(self) -> list[tuple[str, Member]]:
        """The members removed because the worker that held them died, each handed out once as (room,
        member) for a ``peer-left``; call it every few seconds. A one-process store never has any."""
    async def create_room(self, room: str) -> None: ...
    async def room_exists(self, room: str) -> bool: ...
    async def join(self, room: str, member: Member, max_participants: int) -> Joined:
        """Seat ``member`` (a member with the same id is replaced), or record a knock when others are
        in the room and ``member`` is not on its guest list. Raises no-such-room, room-full."""
    async def admit(self, room: str, member_id: str) -> Member | None:
        """Let a knocking member in: it goes on the guest list. Returns it, or None if it no longer knocks."""
    async def withdraw(self, room: str, member_id: str, conn: str | None = None) -> Member | None:
        """Remove a knock (declined, cancelled, gone); with ``conn``, only if that connection made it."""
    async def leave(self, room: str, member_id: str, conn: str, forget: bool = False) -> Member | None:
        """Remove the member if ``conn`` still holds its seat; ``forget`` (a hang-up) also strikes it off the
        guest list, and drops the chat history if nobody is left. Without ``forget`` (a drop) the history of
        an emptied room is kept CHAT_GRACE_SECONDS."""
    async def members(self, room: str) -> list[Member]:
        """The seated members of ``room`` (none for a missing room)."""
    async def find_member(self, room: str, member_id: str) -> Member | None:
        """The seated member ``member_id`` of ``room``, or None: the signal path's lookup. Changes made
        through this store show at once; a shared store may answer from what it read a few seconds
        ago about changes made through other workers, until told ``members_changed``."""
    def members_changed(self, room: str | None = None) -> None:
        """The members of ``room`` (None: of any room) may have changed through another worker."""
    async def knocks(self, room: str) -> list[Member]:
        """The people knocking on ``room`` now (a knock lasts KNOCK_TTL_SECONDS, or until its worker
        dies): what a member who (re)joins is to be shown."""
    async def open_door(self, room: str) -> list[Member]:
        """If nobody is seated in ``room``, let everyone knocking in (onto the guest list) and return them;
        else nothing. One step, so that a member seated meanwhile keeps the knocks to answer."""
    async def add_chat(self, room: str, message: ChatMessage) -> None:
        """Keep a chat message; only the last CHAT_HISTORY stay, and no more than CHAT_BYTES of them."""
    async def chat_history(self, room: str) -> list[ChatMessage]:
        """The kept chat messages of a room, oldest first."""
    async def close(self) -> None:
        """Stop the background work and let go of the store's resources."""


@dataclass(slots=True)
class _Room:
    members: dict[str, Member] = field(default_factory=dict)
    knocks: dict[str, tuple[Member, float]] = field(default_factory=dict)
    guests: set[str] = field(default_factory=set)
    # JSON, not models: a model takes about ten times the memory of its JSON.
    chat: deque[bytes] = field(default_factory=deque)
    chat_bytes: int = 0
    emptied: float | None = None  # when the last member dropped out, leaving the history for a grace period
    touched: float = field(default_factory=time.monotonic)

    def drop_chat(self) -> None:
        self.chat.clear()
        self.chat_bytes = 0
        self.emptied = None


class MemoryRoomStore:
    """Rooms in this process's memory: the embedded default, for one worker."""

    def __init__(self, room_ttl_seconds: float = 24 * 3600, *, chat_rooms: int = CHAT_ROOMS,
                 chat_grace_seconds: float = CHAT_GRACE_SECONDS) -> None:
        self._rooms: dict[str, _Room] = {}
        self._ttl = room_ttl_seconds
        self._chat_rooms = chat_rooms
        self._chat_grace = chat_grace_seconds
        self._chatty: OrderedDict[str, None] = OrderedDict()  # rooms with history, least recently written first

    async def start(self) -> None:
        """Nothing to start: there is no other worker to tell that this one lives."""

    async def ping(self) -> bool:
        return True

    async def sweep(self) -> list[tuple[str, Member]]:
        """Nothing: the only worker is this one, and it is alive."""
        return []

    async def create_room(self, room: str) -> None:
        self._expire()
        self._rooms.setdefault(room, _Room())

    async def room_exists(self, room: str) -> bool:
        return self._get(room) is not None

    async def join(self, room: str, member: Member, max_participants: int) -> Joined:
        state = self._get(room)
        if state is None:
            raise SkyCallError('no-such-room')
        state.touched = time.monotonic()
        replaced = state.members.get(member.id)
        others = [m for m in state.members.values() if m.id != member.id]
        welcome = not others or replaced is not None or member.id in state.guests
        # A seat is promised to each person knocking right now: two knocks cannot both be let in.
        knocking = [m for m in self._live_knocks(state) if m.id != member.id]
        if len(others) + (0 if welcome else len(knocking)) >= max_participants:
            raise SkyCallError('room-full')
        if not welcome:
            state.knocks[member.id] = (member, time.monotonic())
            return Joined(seated=False, others=others)
        state.knocks.pop(member.id, None)
        state.members[member.id] = member
        state.guests.add(member.id)
        state.emptied = None
        return Joined(seated=True, others=others, replaced=replaced)

    async def admit(self, room: str, member_id: str) -> Member | None:
        state = self._get(room)
        knock = state.knocks.pop(member_id, None) if state else None
        if state is None or knock is None or time.monotonic() - knock[1] > KNOCK_TTL_SECONDS:
            return None
        state.guests.add(member_id)
        return knock[0]

    async def withdraw(self, room: str, member_id: str, conn: str | None = None) -> Member | None:
        state = self._rooms.get(room)
        knock = state.knocks.get(member_id) if state else None
        if state is None or knock is None or (conn is not None and knock[0].conn != conn):
            return None
        del state.knocks[member_id]
        return knock[0]

    async def leave(self, room: str, member_id: str, conn: str, forget: bool = False) -> Member | None:
        state = self._rooms.get(room)
        member = state.members.get(member_id) if state else None
        if state is None or member is None or member.conn != conn:
            return None
        del state.members[member_id]
        if forget:
            state.guests.discard(member_id)
        state.touched = time.monotonic()
        if not state.members:
            if forget:
                self._drop_chat(room)
            else:
                state.emptied = state.touched
        return member

    async def members(self, room: str) -> list[Member]:
        state = self._get(room)
        return list(state.members.values()) if state else []

    async def find_member(self, room: str, member_id: str) -> Member | None:
        state = self._get(room)
        return state.members.get(member_id) if state else None

    def members_changed(self, room: str | None = None) -> None:
        """Nothing to do: no other worker changes these rooms."""

    async def knocks(self, room: str) -> list[Member]:
        state = self._get(room)
        return self._live_knocks(state) if state else []

    async def open_door(self, room: str) -> list[Member]:
        state = self._get(room)
        if state is None or state.members:
            return []
        waiting = self._live_knocks(state)
        state.knocks.clear()
        state.guests.update(member.id for member in waiting)
        return waiting

    @staticmethod
    def _live_knocks(state: _Room) -> list[Member]:
        now = time.monotonic()
        return [member for member, since in state.knocks.values() if now - since <= KNOCK_TTL_SECONDS]

    async def add_chat(self, room: str, message: ChatMessage) -> None:
        state = self._get(room)
        if state is None:
            return
        raw = chat_json(message)
        state.chat.append(raw)
        state.chat_bytes += len(raw)
        while len(state.chat) > 1 and (len(state.chat) > CHAT_HISTORY or state.chat_bytes > CHAT_BYTES):
            state.chat_bytes -= len(state.chat.popleft())
        state.touched = time.monotonic()
        self._chatty[room] = None
        self._chatty.move_to_end(room)
        while len(self._chatty) > self._chat_rooms:
            self._drop_chat(next(iter(self._chatty)))

    async def chat_history(self, room: str) -> list[ChatMessage]:
        state = self._get(room)
        return [ChatMessage.model_validate_json(raw) for raw in state.chat] if state else []

    async def close(self) -> None:
        self._rooms.clear()
        self._chatty.clear()

    def _drop_chat(self, room: str) -> None:
        self._chatty.pop(room, None)
        state = self._rooms.get(room)
        if state is not None:
            state.drop_chat()

    def _get(self, room: str) -> _Room | None:
        state = self._rooms.get(room)
        if state is None or state.members:
            return state
        now = time.monotonic()
        if now - state.touched > self._ttl:
            del self._rooms[room]
            self._chatty.pop(room, None)
            return None
        if state.emptied is not None and now - state.emptied > self._chat_grace:
            self._drop_chat(room)  # nobody came back: the history goes
        return state

    def _expire(self) -> None:
        for room in list(self._rooms):
            self._get(room)
