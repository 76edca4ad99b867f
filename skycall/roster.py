"""The members of rooms as one worker last read them from a shared store: the signal path's lookup.

Used by the Redis store's ``find_member`` so that a signal does not cost a round trip to Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from .rooms import Member

ROSTER_ROOMS = 10_000  # rooms a Roster keeps at most


class MemberSource(Protocol):
    """Where a Roster reads the members of a room (a RoomStore)."""

    async def members(self, room: str) -> list[Member]: ...


class Roster:
    """The members of rooms as this worker last read them from the store.

    Only a hint, so it cannot let a signal out of its room: a peer it lacks is looked up in the store
    before anything is refused, and a signal still goes to the peer's own socket.io room, which only
    a connection holding a ticket for that room and peer is in. A room is forgotten when its members
    change (``forget``: its peer-joined and peer-left reach every worker), after ``ttl`` seconds, and
    all rooms at once when events may have been missed.
    """

    def __init__(self, store: MemberSource, ttl: float = 10.0) -> None:
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
