"""The per-worker copy of who sits in which room, that the signal path reads instead of Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from skycall.protocol import new_room_id
from skycall.rooms import Member, MemoryRoomStore
from skycall.roster import Roster
from tests.stores import ADA, BOB, CLEO, seat


class CountingStore(MemoryRoomStore):
    """A memory store that counts how often the members of a room are read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.reading = asyncio.Event()  # set while a read waits for its answer
        self.answer = asyncio.Event()  # cleared: reads wait until a test sets it
        self.answer.set()

    async def members(self, room: str) -> list[Member]:
        self.reads += 1
        self.reading.set()
        await asyncio.sleep(0)  # a read takes a round trip: others may come meanwhile
        await self.answer.wait()
        self.reading.clear()
        return await super().members(room)


async def a_room(store: CountingStore, *people: Member) -> str:
    room = new_room_id()
    await store.create_room(room)
    for person in people:
        await seat(store, room, person, max_participants=3)
    return room


async def test_members_are_read_from_the_store_once_however_many_signals() -> None:
    store = CountingStore()
    roster = Roster(store)
    room = await a_room(store, ADA, BOB)
    found = await asyncio.gather(*(roster.find(room, BOB.id) for _ in range(50)))
    assert found == [BOB] * 50
    assert await roster.find(room, ADA.id) == ADA
    assert store.reads == 1


async def test_someone_not_known_here_is_looked_up_in_the_store_before_being_refused() -> None:
    store = CountingStore()
    roster = Roster(store)
    room = await a_room(store, ADA)
    assert await roster.find(room, ADA.id) == ADA
    await seat(store, room, BOB)  # seated through another worker: this roster has not heard yet
    assert await roster.find(room, BOB.id) == BOB
    assert await roster.find(room, 'nobody') is None
    assert store.reads == 3


async def test_a_peer_of_another_room_is_never_found() -> None:
    store = CountingStore()
    roster = Roster(store)
    room, other = await a_room(store, ADA, BOB), await a_room(store, CLEO)
    assert await roster.find(other, CLEO.id) == CLEO
    assert await roster.find(room, CLEO.id) is None
    assert await roster.find(other, BOB.id) is None


async def test_a_room_is_read_again_once_forgotten_or_expired() -> None:
    store = CountingStore()
    roster = Roster(store, ttl=0.05)
    room = await a_room(store, ADA, BOB)
    assert await roster.find(room, BOB.id) == BOB
    await store.leave(room, BOB.id, conn=BOB.conn)
    roster.forget(room)  # Bob's peer-left
    assert await roster.find(room, BOB.id) is None
    await seat(store, room, BOB)
    roster.forget()  # the relay lost Redis for a while
    assert await roster.find(room, BOB.id) == BOB
    await store.leave(room, BOB.id, conn=BOB.conn)
    await asyncio.sleep(0.06)  # longer than the ttl: a fixed wait is the point here
    assert await roster.find(room, BOB.id) is None


async def test_a_read_that_raced_with_a_change_is_not_kept() -> None:
    store = CountingStore()
    roster = Roster(store)
    room = await a_room(store, ADA, BOB)
    store.answer.clear()
    reading = asyncio.ensure_future(roster.find(room, BOB.id))
    await store.reading.wait()  # the read has begun
    roster.forget(room)  # Bob's peer-left arrives before its answer
    store.answer.set()
    assert await reading == BOB  # what the store said when asked
    await store.leave(room, BOB.id, conn=BOB.conn)
    assert await roster.find(room, BOB.id) is None  # but it was not kept


async def test_a_failed_read_fails_every_signal_waiting_for_it_and_the_next_one_reads_again() -> None:
    store = CountingStore()
    roster = Roster(store)
    room = await a_room(store, ADA, BOB)
    original = store.members

    async def unreachable(room: str) -> Any:
        await asyncio.sleep(0)
        raise ConnectionError('Redis is away')

    store.members = unreachable  # type: ignore[method-assign]
    outcomes = await asyncio.gather(*(roster.find(room, BOB.id) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    store.members = original  # type: ignore[method-assign]
    assert await roster.find(room, BOB.id) == BOB
