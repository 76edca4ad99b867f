"""Room state behind one small async interface, and its in-memory implementation.

Everything crosses the interface by value (plain dataclasses), never as shared mutable objects, so
that a Redis implementation can stand in for the memory one without the callers noticing.

A room has members (seated: they signal and chat), knocks (people waiting to be let in) and a guest
list (peer ids that were let in once, or founded the room, and may come back without knocking: a
reload, a lost connection).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from .errors import SkyCallError
from .protocol import ChatMessage

KNOCK_TTL_SECONDS = 60.0
CHAT_HISTORY = 500  # messages kept per room
ROSTER_ROOMS = 10_000  # rooms a Roster keeps at most


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
    """Where rooms, members and knocks live. Implementations: MemoryRoomStore (one process)."""

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
        """Remove the member if ``conn`` still holds its seat; ``forget`` also strikes it off the guest list."""
    async def members(self, room: str) -> list[Member]: ...
    async def knocks(self, room: str) -> list[Member]: ...
    async def add_chat(self, room: str, message: ChatMessage) -> None:
        """Keep a chat message; only the last CHAT_HISTORY stay."""
    async def chat_history(self, room: str) -> list[ChatMessage]:
        """The kept chat messages of a room, oldest first."""
    async def close(self) -> None: ...


class Roster:
    """The members of rooms as this worker last read them from the store: the signal path's lookup.

    Only a hint, so it cannot let a signal out of its room: a peer it lacks is looked up in the store
    before anything is refused, and a signal still goes to the peer's own socket.io room, which only
    a connection holding a ticket for that room and peer is in. A room is forgotten when its members
    change (``forget``: its peer-joined and peer-left reach every worker), after ``ttl`` seconds, and
    all rooms at once when events may have been missed.
    """

    def __init__(self, store: RoomStore, ttl: float = 10.0) -> None:
        self._store = store
        self._ttl = ttl
        self._rooms: dict[str, tuple[float, dict[str, Member]]] = {}
        self._reading: dict[str, asyncio.Future[dict[str, Member]]] = {}  # one store read per room at a time
        self._changes = 0  # forget() calls so far: a read that raced with one is not kept

    async def find(self, room: str, peer: str) -> Member | None:
        """The seated member ``peer`` of ``room``, or None (then according to the store itself)."""
        cached = self._rooms.get(room)
        if cached is not None and time.monotonic() < cached[0] and peer in cached[1]:
            return cached[1][peer]
        reading = self._reading.get(room)
        if reading is None:
            reading = self._reading[room] = asyncio.ensure_future(self._read(room))
            reading.add_done_callback(lambda _: self._reading.pop(room, None))
        return (await asyncio.shield(reading)).get(peer)

    async def _read(self, room: str) -> dict[str, Member]:
        changes = self._changes
        members = {member.id: member for member in await self._store.members(room)}
        if changes == self._changes:
            if len(self._rooms) >= ROSTER_ROOMS:
                self._rooms.clear()
            self._rooms[room] = (time.monotonic() + self._ttl, members)
        return members

    def forget(self, room: str | None = None) -> None:
        """Drop what is known of ``room``, or of every room."""
        self._changes += 1
        if room is None:
            self._rooms.clear()
        else:
            self._rooms.pop(room, None)


@dataclass(slots=True)
class _Room:
    members: dict[str, Member] = field(default_factory=dict)
    knocks: dict[str, tuple[Member, float]] = field(default_factory=dict)
    guests: set[str] = field(default_factory=set)
    chat: deque[ChatMessage] = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))
    touched: float = field(default_factory=time.monotonic)


class MemoryRoomStore:
    """Rooms in this process's memory: the embedded default, for one worker."""

    def __init__(self, room_ttl_seconds: float = 24 * 3600) -> None:
        self._rooms: dict[str, _Room] = {}
        self._ttl = room_ttl_seconds

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
        return member

    async def members(self, room: str) -> list[Member]:
        state = self._get(room)
        return list(state.members.values()) if state else []

    async def knocks(self, room: str) -> list[Member]:
        state = self._get(room)
        return self._live_knocks(state) if state else []

    @staticmethod
    def _live_knocks(state: _Room) -> list[Member]:
        now = time.monotonic()
        return [member for member, since in state.knocks.values() if now - since <= KNOCK_TTL_SECONDS]

    async def add_chat(self, room: str, message: ChatMessage) -> None:
        state = self._get(room)
        if state is not None:
            state.chat.append(message)  # frozen: shared by value, as the interface promises
            state.touched = time.monotonic()

    async def chat_history(self, room: str) -> list[ChatMessage]:
        state = self._get(room)
        return list(state.chat) if state else []

    async def close(self) -> None:
        self._rooms.clear()

    def _get(self, room: str) -> _Room | None:
        state = self._rooms.get(room)
        if state is not None and not state.members and time.monotonic() - state.touched > self._ttl:
            del self._rooms[room]
            return None
        return state

    def _expire(self) -> None:
        for room in list(self._rooms):
            self._get(room)
