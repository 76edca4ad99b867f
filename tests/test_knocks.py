"""Every knock ends, and everyone concerned hears how (docs/protocol.md, "Knocking").

A real SkyCall process and raw socket.io clients, as in test_signaling.py. The ring timeout is the
server's: a second server with a short one (RING seconds) shows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from skycall.testing.people import Participant, People
from skycall.testing.processes import SkyCallProcess

if TYPE_CHECKING:
    pass

RING = 1.0  # seconds: the ring timeout of the ``ringing`` server (the setting's smallest value)


async def knocks(people: People, room: str, name: str, member: Participant) -> Participant:
    """``name`` joins and knocks; ``member`` hears it."""
    ticket = await people.server.ticket(room, name)
    person = await people.connect(name)
    assert await person.join_or_knock(ticket) is False
    assert await member.expect('knock') == {'id': person.id, 'name': name}
    return person


# --- the only member goes while someone knocks (item 14) ------------------------------------------

@pytest.mark.parametrize('how', ['hangs up', 'drops'])
async def test_a_knock_on_a_room_its_last_member_left_is_let_in(people: People, room: str, how: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await knocks(people, room, 'Bob', ada)
    if how == 'hangs up':
        await ada.hangs_up()
    else:
        await ada.close()
    # Nobody is left to answer: the server lets Bob in, and says that no one did.
    assert await bob.expect('admitted') == {'reason': 'empty'}
    seated = await bob.call('join', {'ticket': bob.ticket})
    assert seated == {'ok': True, 'waiting': False, 'you': {'id': bob.id, 'name': 'Bob'}, 'peers': [], 'history': []}


async def test_a_knock_stays_while_another_member_remains() -> None:
    with SkyCallProcess(max_participants='3').start() as big:
        crowd = People(big)
        try:
            big_room = await big.create_room()
            ada = await crowd.join(big_room, 'Ada')
            bob = await crowd.join(big_room, 'Bob', let_in_by=ada)
            await ada.expect('peer-joined')
            cleo = await knocks(crowd, big_room, 'Cleo', ada)
            assert await bob.expect('knock') == {'id': cleo.id, 'name': 'Cleo'}
            await ada.hangs_up()
            assert (await bob.expect('peer-left'))['id'] == ada.id
            await bob.answer(cleo.id)  # Bob is still there to answer, so the knock waited for him
            assert await cleo.expect('admitted') == {'by': 'Bob'}
        finally:
            await crowd.close()


# --- a member who comes back sees who knocks (item 15) --------------------------------------------

async def test_a_member_who_joins_again_is_shown_the_knocks_still_waiting(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await knocks(people, room, 'Bob', ada)
    ada_again = await people.connect('Ada')  # a reload: the new page joins before the old one is gone
    await ada_again.enter({'ticket': ada.ticket, 'peer': ada.id})
    assert await ada_again.expect('knock') == {'id': bob.id, 'name': 'Bob'}
    await ada_again.answer(bob.id)
    assert await bob.expect('admitted') == {'by': 'Ada'}


# --- the server owns the ring timeout (item 16) ---------------------------------------------------

@pytest.fixture(scope='module')
def ringing() -> Iterator[SkyCallProcess]:
    with SkyCallProcess(ring_timeout_seconds=str(RING)).start() as server:
        yield server


@pytest.fixture
async def ringing_people(ringing: SkyCallProcess) -> AsyncIterator[People]:
    crowd = People(ringing)
    yield crowd
    await crowd.close()


async def test_an_unanswered_knock_ends_for_everyone_at_the_ring_timeout(ringing: SkyCallProcess,
                                                                         ringing_people: People) -> None:
    room = await ringing.create_room()
    ada = await ringing_people.join(room, 'Ada')
    started = time.monotonic()
    bob = await knocks(ringing_people, room, 'Bob', ada)
    ended = {'id': bob.id, 'name': 'Bob', 'reason': 'no-answer'}
    assert await ada.expect('knock-ended') == ended
    assert await bob.expect('knock-ended') == ended
    assert time.monotonic() - started >= RING * 0.9
    # An answer after the timeout finds nobody knocking, and Bob is not let in.
    await ada.fails('answer', {'id': bob.id}, 'no-such-peer')
    await ada.say('Still alone')
    await ada.expect('chat')
    assert bob.heard_nothing_more()


async def test_an_answered_knock_does_not_time_out_later(ringing: SkyCallProcess, ringing_people: People) -> None:
    room = await ringing.create_room()
    ada = await ringing_people.join(room, 'Ada')
    bob = await knocks(ringing_people, room, 'Bob', ada)
    await ada.answer(bob.id)
    assert await bob.expect('admitted') == {'by': 'Ada'}
    assert (await ada.expect('knock-ended'))['reason'] == 'answered'
    assert (await bob.call('join', {'ticket': bob.ticket}))['waiting'] is False
    await ada.expect('peer-joined')
    await asyncio.sleep(RING * 1.5)  # a span of time past the ring timeout (what is tested), not a condition
    await ada.catch_up()
    await bob.catch_up()
    assert [event for event, _ in ada.received + bob.received if event == 'knock-ended'] == ['knock-ended']
