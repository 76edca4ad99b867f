"""The RoomStore contract. Every implementation runs this same suite (add it to STORES).

A room has members (seated), knocks (waiting to be let in) and a guest list (the founder and whoever
was let in: they come back without knocking until they hang up).

The Redis store runs against a real Redis (see tests/stores.py); without one these tests fail, they
never skip.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from pydantic import ValidationError

from skycall.errors import SkyCallError
from skycall.protocol import ChatMessage, new_room_id
from skycall.rooms import CHAT_HISTORY, Joined, Member, RoomStore
from tests.stores import ADA, BOB, CLEO, by_id, memory_store, redis_store, seat, until

# Every RoomStore implementation by name; each entry makes a fresh, empty store whose empty rooms
# expire after ``ttl`` seconds, and cleans up after it.
STORES: dict[str, Callable[[float], AbstractAsyncContextManager[RoomStore]]] = {
    'memory': memory_store,
    'redis': redis_store,
}
MakeStore = Callable[..., Awaitable[RoomStore]]


@pytest.fixture(params=sorted(STORES))
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[MakeStore]:
    """Make stores of the parametrized kind (``make_store(ttl=...)``); all are closed afterwards."""
    async with contextlib.AsyncExitStack() as made:
        async def make(ttl: float = 3600) -> RoomStore:
            return await made.enter_async_context(STORES[request.param](ttl))

        yield make


@pytest.fixture
async def store(make_store: MakeStore) -> RoomStore:
    return await make_store()


@pytest.fixture
async def room(store: RoomStore) -> str:
    room = new_room_id()
    await store.create_room(room)
    return room


async def test_a_created_room_exists_and_others_do_not(store: RoomStore) -> None:
    room = new_room_id()
    assert not await store.room_exists(room)
    await store.create_room(room)
    assert await store.room_exists(room)
    assert not await store.room_exists(new_room_id())
    assert await store.members(room) == []
    assert await store.knocks(room) == []


async def test_a_store_answers_and_sweeps_nobody_while_every_worker_lives(store: RoomStore, room: str) -> None:
    await store.start()  # again: already started, and harmless
    assert await store.ping()
    await seat(store, room, ADA)
    assert await store.sweep() == []
    assert await store.members(room) == [ADA]


async def test_creating_an_existing_room_keeps_its_members(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    await store.create_room(room)
    assert await store.members(room) == [ADA]


async def test_the_first_person_in_an_empty_room_is_seated(store: RoomStore, room: str) -> None:
    assert await store.join(room, ADA, max_participants=2) == Joined(seated=True, others=[], replaced=None)
    assert await store.members(room) == [ADA]


async def test_anyone_else_knocks_and_is_seated_once_admitted(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=3)
    knocking = await store.join(room, BOB, max_participants=3)
    assert knocking.seated is False and knocking.others == [ADA] and knocking.replaced is None
    assert await store.members(room) == [ADA]
    assert await store.knocks(room) == [BOB]
    assert await store.admit(room, BOB.id) == BOB
    assert await store.knocks(room) == []
    seated = await store.join(room, BOB, max_participants=3)
    assert seated == Joined(seated=True, others=[ADA], replaced=None)
    third = await seat(store, room, CLEO, max_participants=3)
    assert by_id(third.others) == [ADA, BOB]
    assert by_id(await store.members(room)) == [ADA, BOB, CLEO]


async def test_a_declined_or_cancelled_knock_is_withdrawn(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    await store.join(room, BOB, max_participants=2)
    # Only the connection that knocked can cancel it...
    assert await store.withdraw(room, BOB.id, conn='someone-elses-conn') is None
    assert await store.knocks(room) == [BOB]
    assert await store.withdraw(room, BOB.id, conn=BOB.conn) == BOB
    assert await store.knocks(room) == []
    # ...while a member's "decline" names no connection.
    await store.join(room, BOB, max_participants=2)
    assert await store.withdraw(room, BOB.id) == BOB
    assert await store.admit(room, BOB.id) is None, 'a declined knock cannot be answered any more'
    assert (await store.join(room, BOB, max_participants=2)).seated is False, 'declined is not let in'


async def test_only_a_knock_can_be_admitted(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    assert await store.admit(room, BOB.id) is None
    assert await store.admit(room, ADA.id) is None
    assert await store.admit(new_room_id(), BOB.id) is None
    other = new_room_id()
    await store.create_room(other)
    await store.join(other, CLEO, max_participants=2)
    await store.join(other, BOB, max_participants=2)
    assert await store.admit(room, BOB.id) is None, 'a knock on another room is not this room\'s to answer'
    assert await store.knocks(other) == [BOB]


async def test_a_dropped_member_comes_back_without_knocking(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    assert await store.leave(room, BOB.id, conn=BOB.conn) == BOB
    back = await store.join(room, Member(BOB.id, 'Bob', conn='conn-bob-2'), max_participants=2)
    assert back.seated is True and back.others == [ADA]


async def test_the_founder_comes_back_without_knocking(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    await store.leave(room, ADA.id, conn=ADA.conn)
    assert (await store.join(room, ADA, max_participants=2)).seated is True


async def test_a_member_who_hangs_up_must_knock_again(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    assert await store.leave(room, BOB.id, conn=BOB.conn, forget=True) == BOB
    again = await store.join(room, BOB, max_participants=2)
    assert again.seated is False and await store.knocks(room) == [BOB]


async def test_a_full_room_refuses_one_more(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    with pytest.raises(SkyCallError) as caught:
        await store.join(room, CLEO, max_participants=2)
    assert caught.value.code == 'room-full'
    assert by_id(await store.members(room)) == [ADA, BOB]
    assert await store.knocks(room) == []


async def test_knocks_count_towards_a_full_room(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    assert (await store.join(room, BOB, max_participants=2)).seated is False
    with pytest.raises(SkyCallError) as caught:
        await store.join(room, CLEO, max_participants=2)
    assert caught.value.code == 'room-full'


async def test_the_same_member_id_replaces_the_old_seat(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    ada_again = Member(ADA.id, 'Ada', conn='conn-ada-2')
    # The room is full, but a reload takes over its own seat instead of needing another one.
    joined = await store.join(room, ada_again, max_participants=2)
    assert joined == Joined(seated=True, others=[BOB], replaced=ADA)
    assert by_id(await store.members(room)) == [ada_again, BOB]


async def test_a_replaced_seat_survives_a_refused_join(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    # Lowering the limit (a restart with another setting) must not lose Ada's seat on her reload.
    with pytest.raises(SkyCallError) as caught:
        await store.join(room, Member(ADA.id, 'Ada', conn='conn-ada-2'), max_participants=1)
    assert caught.value.code == 'room-full'
    assert by_id(await store.members(room)) == [ADA, BOB]


async def test_leave_only_when_the_connection_still_holds_the_seat(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    ada_again = Member(ADA.id, 'Ada', conn='conn-ada-2')
    await store.join(room, ada_again, max_participants=2)
    # The old connection closing late must not remove the new one.
    assert await store.leave(room, ADA.id, conn=ADA.conn) is None
    assert await store.members(room) == [ada_again]
    assert await store.leave(room, ADA.id, conn=ada_again.conn) == ada_again
    assert await store.members(room) == []
    assert await store.leave(room, ADA.id, conn=ada_again.conn) is None


async def test_leave_of_unknown_members_and_rooms_is_harmless(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    assert await store.leave(room, BOB.id, conn=BOB.conn) is None
    assert await store.leave(new_room_id(), ADA.id, conn=ADA.conn) is None
    assert await store.withdraw(new_room_id(), ADA.id) is None
    assert await store.members(room) == [ADA]


async def test_a_left_seat_can_be_taken_by_someone_else(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await seat(store, room, BOB)
    await store.leave(room, BOB.id, conn=BOB.conn, forget=True)
    joined = await seat(store, room, CLEO)
    assert joined.others == [ADA]


async def test_an_emptied_room_seats_the_next_person_at_once(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA)
    await store.leave(room, ADA.id, conn=ADA.conn, forget=True)
    assert (await store.join(room, BOB, max_participants=2)).seated is True


async def test_a_seated_member_is_found_in_its_own_room_only(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA, max_participants=3)
    await store.join(room, BOB, max_participants=3)  # knocking: not in the call
    assert await store.find_member(room, ADA.id) == ADA
    assert await store.find_member(room, BOB.id) is None
    assert await store.find_member(new_room_id(), ADA.id) is None
    await store.admit(room, BOB.id)
    await store.join(room, BOB, max_participants=3)
    assert await store.find_member(room, BOB.id) == BOB
    await store.leave(room, ADA.id, conn=ADA.conn)
    store.members_changed(room)  # what another worker's change would bring: changes nothing here
    assert await store.find_member(room, ADA.id) is None
    assert await store.find_member(room, BOB.id) == BOB


async def test_knocks_are_listed_oldest_first_and_knocking_again_keeps_the_place(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA, max_participants=4)
    await store.join(room, BOB, max_participants=4)
    await store.join(room, CLEO, max_participants=4)
    assert await store.knocks(room) == [BOB, CLEO]
    bob_again = Member(BOB.id, 'Bob', conn='conn-bob-2')  # Bob reloads the page while waiting
    assert (await store.join(room, bob_again, max_participants=4)).seated is False
    assert await store.knocks(room) == [bob_again, CLEO]
    assert await store.withdraw(room, CLEO.id) == CLEO
    assert await store.knocks(room) == [bob_again]


async def test_members_and_knocks_are_handed_out_by_value(store: RoomStore, room: str) -> None:
    await store.join(room, ADA, max_participants=2)
    (await store.members(room)).clear()
    joined = await store.join(room, BOB, max_participants=2)
    joined.others.clear()
    (await store.knocks(room)).clear()
    assert await store.members(room) == [ADA]
    assert await store.knocks(room) == [BOB]


async def test_members_of_a_missing_room_are_none(store: RoomStore) -> None:
    assert await store.members(new_room_id()) == []


async def test_joining_a_missing_room_is_no_such_room(store: RoomStore) -> None:
    with pytest.raises(SkyCallError) as caught:
        await store.join(new_room_id(), ADA, max_participants=2)
    assert caught.value.code == 'no-such-room'


async def test_rooms_are_separate(store: RoomStore, room: str) -> None:
    other = new_room_id()
    await store.create_room(other)
    await store.join(room, ADA, max_participants=2)
    joined = await store.join(other, BOB, max_participants=2)
    assert joined.seated is True and joined.others == []
    assert await store.members(room) == [ADA]
    assert await store.members(other) == [BOB]


async def test_an_empty_room_expires_after_its_ttl(make_store: MakeStore) -> None:
    store = await make_store(ttl=0.05)
    room = new_room_id()
    await store.create_room(room)
    assert await store.room_exists(room)
    await until(lambda: _gone(store, room))
    with pytest.raises(SkyCallError) as caught:
        await store.join(room, ADA, max_participants=2)
    assert caught.value.code == 'no-such-room'


async def test_an_occupied_room_does_not_expire_and_expires_once_empty(make_store: MakeStore) -> None:
    store = await make_store(ttl=0.3)
    room, clock = new_room_id(), new_room_id()
    await store.create_room(room)
    await store.join(room, ADA, max_participants=2)
    await store.create_room(clock)  # an empty room made after the join: when it is gone, the ttl has passed
    await until(lambda: _gone(store, clock))
    assert await store.room_exists(room)
    assert await store.members(room) == [ADA]
    await store.leave(room, ADA.id, conn=ADA.conn)
    assert await store.room_exists(room)  # the ttl counts from the moment the room became empty
    await until(lambda: _gone(store, room))


async def _gone(store: RoomStore, room: str) -> bool:
    return not await store.room_exists(room)


async def test_chat_is_kept_oldest_first_and_only_the_last_messages(store: RoomStore, room: str) -> None:
    sent = [ChatMessage(id=f'm{n}', sender=ADA.id, name='Ada', text=f'message {n}', ts=1764078000.5 + n)
            for n in range(CHAT_HISTORY + 20)]
    for message in sent:
        await store.add_chat(room, message)
    assert await store.chat_history(room) == sent[-CHAT_HISTORY:]


async def test_chat_is_kept_and_handed_out_by_value(store: RoomStore, room: str) -> None:
    message = ChatMessage(id='m1', sender=ADA.id, name='Zoë 😀', text='<b>hi</b> "there"', ts=1764078000.123)
    await store.add_chat(room, message)
    with pytest.raises(ValidationError):  # a message is frozen: no reader can change what is kept
        (await store.chat_history(room))[0].text = 'changed by a reader'  # type: ignore[misc]
    assert await store.chat_history(room) == [message]
    assert (await store.chat_history(room))[0].wire()['text'] == '<b>hi</b> "there"'


async def test_chat_of_a_missing_room_is_not_kept(store: RoomStore) -> None:
    missing = new_room_id()
    await store.add_chat(missing, ChatMessage(id='m1', sender=ADA.id, name='Ada', text='hello?', ts=1.5))
    assert await store.chat_history(missing) == []
    assert not await store.room_exists(missing)


async def test_a_room_left_empty_lets_its_knocks_in(store: RoomStore, room: str) -> None:
    await seat(store, room, ADA, max_participants=3)
    await store.join(room, BOB, max_participants=3)
    await store.join(room, CLEO, max_participants=3)
    assert await store.open_door(room) == [], 'a member is there to answer'
    assert await store.knocks(room) == [BOB, CLEO]
    await store.leave(room, ADA.id, conn=ADA.conn)
    assert await store.open_door(room) == [BOB, CLEO]
    assert await store.knocks(room) == []
    assert await store.open_door(room) == [], 'each knock is let in once'
    # Let in: on the guest list, so both are seated, the second with the first there.
    assert (await store.join(room, BOB, max_participants=3)).seated
    assert (await store.join(room, CLEO, max_participants=3)) == Joined(seated=True, others=[BOB])


async def test_the_door_of_a_missing_room_opens_on_nobody(store: RoomStore) -> None:
    assert await store.open_door(new_room_id()) == []
