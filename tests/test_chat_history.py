"""Chat history cannot grow without bound (issue 11, item 10): a byte budget per room, history that goes
with the last member who hangs up (or, after a grace period, drops out), and in memory a cap on the rooms
that keep any. Both stores run the same tests, except the memory store's room cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from skycall.protocol import ChatMessage, new_room_id
from skycall.rooms import CHAT_BYTES, MemoryRoomStore, RoomStore, chat_size
from tests.stores import ADA, BOB, CLEO, always, memory_store, redis_store, seat, until

GRACE = 0.6  # seconds a dropped member's history waits, in these tests


@pytest.fixture(params=['memory', 'redis'])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RoomStore]:
    factory: Any = memory_store if request.param == 'memory' else redis_store
    async with factory(3600, chat_grace_seconds=GRACE) as made:
        yield made


@pytest.fixture
async def room(store: RoomStore) -> str:
    room = new_room_id()
    await store.create_room(room)
    return room


def message(n: int, text: str = 'hello') -> ChatMessage:
    return ChatMessage(id=f'm{n}', sender=ADA.id, name='Ada', text=text, ts=1764078000.5 + n)


async def test_a_rooms_history_keeps_no_more_than_its_byte_budget_newest_first(store: RoomStore, room: str) -> None:
    # 200 of the longest messages, in a script whose letters take two bytes each: about 800 KB sent.
    sent = [message(n, f'{n} ' + 'é' * 1990) for n in range(200)]
    for each in sent:
        await store.add_chat(room, each)
    history = await store.chat_history(room)
    assert history == sent[-len(history):], 'the newest messages, in order'
    kept = sum(chat_size(each) for each in history)
    assert kept <= CHAT_BYTES < kept + chat_size(sent[-len(history) - 1]), 'as many as the budget holds'


async def test_history_is_dropped_when_the_last_member_hangs_up(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    await store.add_chat(room, message(1))
    await store.leave(room, BOB.id, BOB.conn, forget=True)
    assert await store.chat_history(room) == [message(1)], 'Ada is still in the call'
    await store.leave(room, ADA.id, ADA.conn, forget=True)
    # Whoever opens the link later finds an empty room, and none of the old chat.
    assert (await store.join(room, CLEO, max_participants=2)).seated
    assert await store.chat_history(room) == []
    await store.add_chat(room, message(2))
    assert await store.chat_history(room) == [message(2)]


async def test_history_waits_a_grace_period_for_a_member_who_dropped_out(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await store.add_chat(room, message(1))
    await store.leave(room, ADA.id, ADA.conn)  # a lost connection, not a hang-up
    assert await store.chat_history(room) == [message(1)]
    await seat(store, room, ADA)  # back within the grace period (a reload): the chat is there ...
    assert await store.chat_history(room) == [message(1)]

    async def kept() -> None:
        assert await store.chat_history(room) == [message(1)]

    await always(kept, GRACE * 2)  # ... and stays while someone is in the room
    await store.leave(room, ADA.id, ADA.conn)
    await until(lambda: _no_history(store, room))  # nobody came back: it goes
    assert (await store.join(room, CLEO, max_participants=2)).seated
    assert await store.chat_history(room) == []


async def _no_history(store: RoomStore, room: str) -> bool:
    return not await store.chat_history(room)


async def test_the_memory_store_keeps_history_for_a_bounded_number_of_rooms() -> None:
    """Rooms are cheap to make (30 per 10 minutes per address): the history written to least recently goes."""
    store = MemoryRoomStore(chat_rooms=3)
    rooms = [new_room_id() for _ in range(4)]
    try:
        for n, each in enumerate(rooms[:3]):
            await store.create_room(each)
            await store.add_chat(each, message(n))
        await store.add_chat(rooms[0], message(10))  # room 0 is written to again: room 1 is now the oldest
        await store.create_room(rooms[3])
        await store.add_chat(rooms[3], message(3))
        histories = [await store.chat_history(each) for each in rooms]
    finally:
        await store.close()
    assert histories == [[message(0), message(10)], [], [message(2)], [message(3)]]
