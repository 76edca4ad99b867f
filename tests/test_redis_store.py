"""What only the Redis store has: several workers sharing rooms, keys that expire, workers that die,
and Redis itself going away. tests/test_rooms.py runs the common RoomStore contract against it.

Tests that stop, pause or restart Redis use a redis-server of their own on a free port (the private_redis fixture),
never the shared one on 6379.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from skycall.errors import SkyCallError
from skycall.protocol import ChatMessage, new_room_id
from skycall.redis_store import RedisRoomStore
from skycall.rooms import CHAT_HISTORY, KNOCK_TTL_SECONDS, Joined, Member
from skycall.testing.redis_process import RedisProcess
from tests.stores import (
    ADA,
    BOB,
    CLEO,
    always,
    by_id,
    doomed_worker,
    redis_store,
    seat,
    until,
    workers,
)


async def test_two_workers_racing_for_the_last_seat_never_overfill_the_room() -> None:
    async with workers(2) as (one, two):
        for _ in range(20):
            room = new_room_id()
            await one.create_room(room)
            await seat(one, room, ADA, max_participants=3)
            await seat(two, room, BOB, max_participants=3)
            # Ten people who were let in before (a dropped connection keeps them on the guest list)
            # all come back at once, half through each worker: one seat is left.
            guests = [Member(f'guest-{n}', f'Guest {n}', conn=f'conn-guest-{n}') for n in range(10)]
            for guest in guests:
                await seat(one, room, guest, max_participants=20)
                await one.leave(room, guest.id, conn=guest.conn)
            outcomes = await asyncio.gather(
                *((one if n % 2 else two).join(room, guest, max_participants=3) for n, guest in enumerate(guests)),
                return_exceptions=True)
            assert sum(isinstance(o, Joined) and o.seated for o in outcomes) == 1
            assert all(isinstance(o, Joined) or (isinstance(o, SkyCallError) and o.code == 'room-full')
                       for o in outcomes)
            assert len(await two.members(room)) == 3


async def test_each_member_names_the_worker_that_seated_it() -> None:
    # The relay sends a signal only to the worker that holds its target's connection.
    async with workers(2) as (one, two):
        room = new_room_id()
        await one.create_room(room)
        await seat(one, room, ADA)
        await seat(two, room, BOB)
        for store in (one, two):
            assert {m.id: m.worker for m in await store.members(room)} == {ADA.id: one.worker_id,
                                                                           BOB.id: two.worker_id}


async def test_a_worker_finds_members_seated_elsewhere_at_once_and_those_gone_elsewhere_once_told() -> None:
    async with workers(2) as (one, two):
        room = new_room_id()
        await one.create_room(room)
        await seat(one, room, ADA)
        assert await one.find_member(room, ADA.id) == ADA
        await seat(two, room, BOB)
        assert await one.find_member(room, BOB.id) == BOB, 'someone not known here is looked up in Redis'
        await two.leave(room, BOB.id, conn=BOB.conn)
        one.members_changed(room)  # Bob's peer-left, heard through the relay
        assert await one.find_member(room, BOB.id) is None
        await seat(two, room, BOB)
        assert await one.find_member(room, BOB.id) == BOB
        await two.leave(room, BOB.id, conn=BOB.conn)
        one.members_changed()  # the relay lost Redis a while: every room is read again
        assert await one.find_member(room, BOB.id) is None
        assert await one.find_member(room, ADA.id) == ADA


async def test_two_workers_racing_into_an_empty_room_seat_one_and_let_one_knock() -> None:
    async with workers(2) as (one, two):
        for _ in range(20):
            room = new_room_id()
            await one.create_room(room)
            people = [Member(f'peer-{n}', f'Person {n}', conn=f'conn-{n}') for n in range(10)]
            outcomes = await asyncio.gather(
                *((one if n % 2 else two).join(room, person, max_participants=2) for n, person in enumerate(people)),
                return_exceptions=True)
            joined = [o for o in outcomes if isinstance(o, Joined)]
            assert sorted(o.seated for o in joined) == [False, True], 'one seated, one knocking (knocks count)'
            assert sum(isinstance(o, SkyCallError) and o.code == 'room-full' for o in outcomes) == 8
            assert len(await one.members(room)) == 1 and len(await two.knocks(room)) == 1


async def test_every_key_carries_the_prefix_and_expires(private_redis: RedisProcess) -> None:
    prefix = 'skycall-keys:'
    async with redis_store(url=private_redis.url, prefix=prefix) as store:
        room = new_room_id()
        await store.create_room(room)
        await seat(store, room, ADA, max_participants=3)
        await seat(store, room, BOB, max_participants=3)
        await store.join(room, CLEO, max_participants=3)  # knocking
        await store.add_chat(room, ChatMessage(id='m1', sender=ADA.id, name='Ada', text='hi', ts=1.5))
        await store.create_room(new_room_id())  # an empty room
        client = Redis.from_url(private_redis.url, decode_responses=True)
        try:
            keys = [key async for key in client.scan_iter(count=1000)]
            ttls = {key: await client.pttl(key) for key in keys}
            members = await client.hvals(f'{prefix}room:{room}:members')
            chat = await client.lrange(f'{prefix}room:{room}:chat', 0, -1)
        finally:
            await client.aclose()
    kinds = {key.removeprefix(f'{prefix}room:{room}') or 'room' for key in keys if room in key}
    assert kinds == {'room', ':members', ':knocks', ':guests', ':chat'}
    assert all(key.startswith(prefix) for key in keys), keys
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    assert ttls[f'{prefix}room:{room}:chat'] > 23 * 3600 * 1000, 'chat stays a day after the last activity'
    assert ttls[f'{prefix}room:{room}:knocks'] <= KNOCK_TTL_SECONDS * 1000
    assert ttls[f'{prefix}worker:{store.worker_id}'] <= 10 * 1000
    # Everything stored is JSON (never pickle).
    assert {json.loads(value)['name'] for value in members} == {'Ada', 'Bob'}
    assert json.loads(chat[0])['text'] == 'hi'


async def test_names_and_chat_survive_the_trip_through_redis_unchanged() -> None:
    zoe = Member('zoe-peer', 'Zoë 😀 "Z" \\ </script> 名前', conn='conn-zoë')
    async with workers(2) as (one, two):
        room = new_room_id()
        await one.create_room(room)
        await one.join(room, ADA, max_participants=2)
        assert (await two.join(room, zoe, max_participants=2)).seated is False
        assert await one.knocks(room) == [zoe]
        assert await one.admit(room, zoe.id) == zoe
        assert await two.join(room, zoe, max_participants=2) == Joined(seated=True, others=[ADA])
        assert by_id(await one.members(room)) == by_id([ADA, zoe])
        assert await one.leave(room, zoe.id, conn=zoe.conn) == zoe


async def test_a_late_joiner_on_another_worker_sees_the_whole_chat_in_order_once() -> None:
    async with workers(3) as (one, two, late):
        room = new_room_id()
        await one.create_room(room)
        sent = [ChatMessage(id=f'm{n}', sender='p', name='Ada', text=f'message {n}', ts=1764078000.25 + n)
                for n in range(CHAT_HISTORY + 20)]
        for n, message in enumerate(sent):
            await (one if n % 2 else two).add_chat(room, message)
        history = await late.chat_history(room)
    assert history == sent[-CHAT_HISTORY:]
    assert len({message.id for message in history}) == CHAT_HISTORY


async def test_a_dead_workers_members_are_swept_once() -> None:
    ada, bob = Member('ada', 'Ada', conn='conn-ada'), Member('bob', 'Bob', conn='conn-bob')
    async with workers(1) as (alive,):
        room = new_room_id()
        await alive.create_room(room)
        async with doomed_worker(alive.prefix, room, 'ada') as doomed:
            await seat(alive, room, bob, max_participants=4)
            assert by_id(await alive.members(room)) == [ada, bob]
            assert await alive.sweep() == [], 'a worker that beats is alive'
            doomed.kill()
            swept: list[tuple[str, Member]] = []

            async def ada_swept() -> bool:
                swept.extend(await alive.sweep())
                return bool(swept)

            await until(ada_swept)
        assert swept == [(room, ada)]
        assert await alive.members(room) == [bob]
        assert await alive.sweep() == [], 'each dead member is handed out once'


async def test_a_dead_workers_members_are_gone_from_members_and_still_swept_once() -> None:
    ada, bob = Member('ada', 'Ada', conn='conn-ada'), Member('bob', 'Bob', conn='conn-bob')
    async with workers(2) as (one, two):
        room = new_room_id()
        await one.create_room(room)
        async with doomed_worker(one.prefix, room, 'ada') as doomed:
            await seat(one, room, bob, max_participants=4)
            doomed.kill()

            async def only_bob() -> bool:
                return await two.members(room) == [bob]

            await until(only_bob)
        # The worker that noticed hands Ada out for a peer-left; no other worker does.
        assert await one.sweep() == []
        assert await two.sweep() == [(room, ada)]
        assert await two.sweep() == []


async def test_a_person_back_from_a_dead_worker_replaces_their_seat_without_leaving() -> None:
    ada, bob, cleo = (Member(peer, peer.title(), conn=f'conn-{peer}') for peer in ('ada', 'bob', 'cleo'))
    async with workers(1) as (alive,):
        room = new_room_id()
        await alive.create_room(room)
        async with doomed_worker(alive.prefix, room, 'ada', 'cleo') as doomed:
            await seat(alive, room, bob, max_participants=4)
            doomed.kill()
            # Ada's page reconnects through the load balancer to the living worker at once.
            ada_again = Member('ada', 'Ada', conn='conn-ada-2')
            joined = await alive.join(room, ada_again, max_participants=4)
            assert joined.seated and joined.replaced == ada and by_id(joined.others) == [bob, cleo]
            swept: list[tuple[str, Member]] = []

            async def cleo_swept() -> bool:
                swept.extend(await alive.sweep())
                return bool(swept)

            await until(cleo_swept)
        assert swept == [(room, cleo)], 'Ada is back: she never left'
        assert by_id(await alive.members(room)) == [ada_again, bob]


async def test_a_worker_that_closes_takes_its_members_with_it() -> None:
    async with workers(1) as (staying,):
        room = new_room_id()
        await staying.create_room(room)
        async with redis_store(prefix=staying.prefix) as leaving:
            await seat(leaving, room, ADA)
            await seat(staying, room, BOB)
        assert await staying.members(room) == [BOB]
        assert await staying.sweep() == [(room, ADA)]


async def test_an_occupied_room_lives_while_its_worker_beats_and_not_after() -> None:
    async with workers(1, ttl=0.2, heartbeat_seconds=0.6) as (store,):
        room, clock = new_room_id(), new_room_id()
        await store.create_room(room)
        await store.join(room, ADA, max_participants=2)
        async with redis_store(ttl=2.0, prefix=store.prefix) as slow:
            await slow.create_room(clock)  # gone after 2 s: well past the occupied room's own 0.8 s
            await until(lambda: _gone(slow, clock))
        assert await store.members(room) == [ADA]
        await store.leave(room, ADA.id, conn=ADA.conn)
        await until(lambda: _gone(store, room))


async def test_a_room_whose_every_worker_died_expires_a_room_ttl_after_the_last_heartbeat() -> None:
    async with workers(1) as (alive,):
        room = new_room_id()
        await alive.create_room(room)
        async with doomed_worker(alive.prefix, room, 'ada', ttl=0.3) as doomed:
            doomed.kill()
            await until(lambda: _gone(alive, room))  # nobody swept it: its keys expired


async def _gone(store: RedisRoomStore, room: str) -> bool:
    return not await store.room_exists(room)


async def test_calls_fail_fast_while_redis_is_down_and_work_as_soon_as_it_is_back(
        private_redis: RedisProcess) -> None:
    async with redis_store(url=private_redis.url) as store:
        room = new_room_id()
        await store.create_room(room)
        assert await store.ping()
        private_redis.stop()
        started = time.monotonic()
        with pytest.raises(RedisError):
            await store.members(room)
        assert time.monotonic() - started < 2
        started = time.monotonic()
        assert not await store.ping()
        assert time.monotonic() - started < 2.5
        private_redis.start()  # a fresh server: --save "" kept nothing
        assert await store.ping()
        await store.create_room(room)
        assert (await store.join(room, ADA, max_participants=2)).seated


async def test_calls_fail_fast_while_redis_hangs(private_redis: RedisProcess) -> None:
    async with redis_store(url=private_redis.url) as store:
        room = new_room_id()
        await store.create_room(room)
        private_redis.pause()
        try:
            started = time.monotonic()
            with pytest.raises(RedisError):
                await store.join(room, ADA, max_participants=2)
            assert time.monotonic() - started < 2
            assert not await store.ping()
        finally:
            private_redis.resume()
        assert await store.ping()
        # The join timed out after it was sent: Redis may still have run it once awake. Either way,
        # the store works again.
        assert await store.members(room) in ([], [ADA])
        assert await store.leave(room, BOB.id, conn=BOB.conn) is None


async def test_a_worker_slow_to_come_back_after_an_outage_is_not_taken_for_dead(private_redis: RedisProcess) -> None:
    ada, bob = Member('ada', 'Ada', conn='conn-ada'), Member('bob', 'Bob', conn='conn-bob')
    async with workers(1, url=private_redis.url, heartbeat_seconds=3) as (store,):
        room = new_room_id()
        await store.create_room(room)
        async with doomed_worker(store.prefix, room, 'ada', url=private_redis.url) as ada_worker:  # beats every 1/3 s
            await seat(store, room, bob, max_participants=4)
            private_redis.pause()
            ada_worker.send_signal(signal.SIGSTOP)
            with pytest.raises(RedisError):
                await store.members(room)
            await asyncio.sleep(1.5)  # the outage goes on: every heartbeat (1 s TTL) lapses in it
            private_redis.resume()
            await until(store.ping)

            async def both_there() -> bool:
                assert by_id(await store.members(room)) == [ada, bob]
                assert await store.sweep() == []
                return False

            # Ada's worker takes longer to come back: her heartbeat is missing, her worker is not dead.
            await always(both_there, seconds=1.5)
            ada_worker.send_signal(signal.SIGCONT)
            await always(both_there, seconds=2.5)  # past the store's grace (3 s) with everybody beating again
