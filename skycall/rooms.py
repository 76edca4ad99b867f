"""Room state behind one small async interface, and its in-memory implementation.

Everything crosses the interface by value (plain dataclasses), never as shared mutable objects, so
that a Redis implementation can stand in for the memory one without the callers noticing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from .errors import SkyCallError


@dataclass(frozen=True, slots=True)
class Member:
    """A participant of one room. ``conn`` names the connection that holds the seat (server-only)."""

    id: str
    name: str
    conn: str

    def public(self) -> dict[str, str]:
        return {'id': self.id, 'name': self.name}


@dataclass(frozen=True, slots=True)
class Joined:
    """The outcome of a join: the others already there, and the connection this one replaced."""

    others: list[Member]
    replaced: Member | None = None


class RoomStore(Protocol):
    """Where rooms and their members live. Implementations: MemoryRoomStore (one process)."""

    async def create_room(self, room: str) -> None: ...
    async def room_exists(self, room: str) -> bool: ...
    async def join(self, room: str, member: Member, max_participants: int) -> Joined:
        """Seat ``member``; a member with the same id is replaced. Raises no-such-room, room-full."""
    async def leave(self, room: str, member_id: str, conn: str) -> Member | None:
        """Remove the member if ``conn`` still holds its seat; return it, or None."""
    async def members(self, room: str) -> list[Member]: ...
    async def close(self) -> None: ...


@dataclass(slots=True)
class _Room:
    members: dict[str, Member] = field(default_factory=dict)
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
        replaced = state.members.pop(member.id, None)
        if len(state.members) >= max_participants:
            if replaced is not None:
                state.members[replaced.id] = replaced
            raise SkyCallError('room-full')
        others = list(state.members.values())
        state.members[member.id] = member
        state.touched = time.monotonic()
        return Joined(others=others, replaced=replaced)

    async def leave(self, room: str, member_id: str, conn: str) -> Member | None:
        state = self._rooms.get(room)
        if state is None:
            return None
        member = state.members.get(member_id)
        if member is None or member.conn != conn:
            return None
        del state.members[member_id]
        state.touched = time.monotonic()
        return member

    async def members(self, room: str) -> list[Member]:
        state = self._get(room)
        return list(state.members.values()) if state else []

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
