"""The signaling server as people meet it: a real SkyCall process, real socket.io clients.

Each participant connects from an address of its own on the loopback network (127.1.x.y), as people on
different machines would: the server limits rooms, joins and connections per address.

Events on one connection arrive in the order the server sent them, so "nothing else arrived" is
checked after a later message has arrived, never by waiting a while.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from skycall.protocol import new_peer_id, new_room_id
from skycall.testing.net import new_address
from skycall.testing.people import WAIT, People
from skycall.testing.samples import OFFER
from skycall.tickets import Ticket, TicketMint

if TYPE_CHECKING:
    pass


# --- joining ------------------------------------------------------------------------------------

async def test_the_first_person_finds_an_empty_room(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    assert ada.joined == {'ok': True, 'waiting': False, 'you': {'id': ada.id, 'name': 'Ada'}, 'peers': [],
                          'history': []}


async def test_the_second_person_knocks_and_is_let_in(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.connect('Bob')
    ticket = await people.server.ticket(room, 'Bob')
    knocking = await bob.call('join', {'ticket': ticket['ticket']})
    assert knocking == {'ok': True, 'waiting': True, 'you': {'id': ticket['peer'], 'name': 'Bob'}, 'peers': []}
    assert await ada.expect('knock') == {'id': ticket['peer'], 'name': 'Bob'}
    # While knocking, Bob is not in the call.
    await bob.fails('chat', {'text': 'Hello?'}, 'not-joined')
    await bob.fails('signal', {'to': ada.id, 'description': OFFER}, 'not-joined')
    await bob.fails('answer', {'id': ada.id}, 'not-joined')
    assert await ada.call('signal', {'to': ticket['peer'], 'description': OFFER}) == {
        'ok': False, 'code': 'no-such-peer', 'message': 'That person is not in this call.', 'event': 'signal'}
    # Ada answers; Bob joins again with the same ticket and is seated.
    assert await ada.call('answer', {'id': ticket['peer']}) == {'ok': True}
    assert await bob.expect('admitted') == {'by': 'Ada'}
    assert await ada.expect('knock-ended') == {'id': ticket['peer'], 'name': 'Bob', 'reason': 'answered'}
    await bob.enter(ticket)
    assert bob.joined == {'ok': True, 'waiting': False, 'you': {'id': bob.id, 'name': 'Bob'},
                          'peers': [{'id': ada.id, 'name': 'Ada'}], 'history': []}
    assert await ada.expect('peer-joined') == {'id': bob.id, 'name': 'Bob'}
    await ada.fails('answer', {'id': bob.id}, 'no-such-peer')  # the first reply won
    assert bob.heard_nothing_more()


async def test_a_declined_knock_stays_outside(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.connect('Bob')
    ticket = await people.server.ticket(room, 'Bob')
    assert (await bob.call('join', {'ticket': ticket['ticket']}))['waiting'] is True
    await ada.expect('knock')
    assert await ada.call('decline', {'id': ticket['peer']}) == {'ok': True}
    assert await bob.expect('declined') == {'by': 'Ada'}
    assert await ada.expect('knock-ended') == {'id': ticket['peer'], 'name': 'Bob', 'reason': 'declined'}
    await bob.fails('chat', {'text': 'Let me in'}, 'not-joined')
    # Knocking again rings again; it does not seat him.
    assert (await bob.call('join', {'ticket': ticket['ticket']}))['waiting'] is True
    assert await ada.expect('knock') == {'id': ticket['peer'], 'name': 'Bob'}


@pytest.mark.parametrize('how', ['cancels', 'closes the page'])
async def test_a_knock_that_is_given_up_ends_the_ringing(people: People, room: str, how: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.connect('Bob')
    ticket = await people.server.ticket(room, 'Bob')
    await bob.call('join', {'ticket': ticket['ticket']})
    await ada.expect('knock')
    if how == 'cancels':
        await bob.hangs_up()
    else:
        await bob.close()
    assert await ada.expect('knock-ended') == {'id': ticket['peer'], 'name': 'Bob', 'reason': 'cancelled'}
    await ada.fails('answer', {'id': ticket['peer']}, 'no-such-peer')


async def test_a_knock_can_only_be_answered_from_inside_its_room(people: People, room: str, other_room: str) -> None:
    ada = await people.join(room, 'Ada')
    mallory = await people.join(other_room, 'Mallory')
    bob = await people.connect('Bob')
    ticket = await people.server.ticket(room, 'Bob')
    await bob.call('join', {'ticket': ticket['ticket']})
    await ada.expect('knock')
    await mallory.fails('answer', {'id': ticket['peer']}, 'no-such-peer')
    await mallory.fails('answer', {'id': 'not an id!'}, 'bad-message')
    assert mallory.heard_nothing_more()
    await ada.fails('decline', {'id': new_peer_id()}, 'no-such-peer')
    # Bob is still ringing at Ada's door, and only there.
    assert await ada.call('answer', {'id': ticket['peer']}) == {'ok': True}
    assert await bob.expect('admitted') == {'by': 'Ada'}


async def test_a_third_person_finds_the_call_full(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    cleo = await people.connect('Cleo')
    await cleo.fails('join', {'ticket': (await people.server.ticket(room, 'Cleo'))['ticket']}, 'room-full')
    # Nobody was told about Cleo: the next thing Bob hears is Ada.
    await ada.say('Just the two of us')
    assert (await bob.expect('chat'))['text'] == 'Just the two of us'
    assert (await ada.expect('chat'))['text'] == 'Just the two of us'
    assert bob.heard_nothing_more() and ada.heard_nothing_more() and cleo.heard_nothing_more()


async def test_a_knock_counts_towards_a_full_room(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.connect('Bob')
    await bob.call('join', {'ticket': (await people.server.ticket(room, 'Bob'))['ticket']})
    await ada.expect('knock')
    cleo = await people.connect('Cleo')
    await cleo.fails('join', {'ticket': (await people.server.ticket(room, 'Cleo'))['ticket']}, 'room-full')


async def test_a_freed_seat_can_be_taken(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    await bob.hangs_up()
    await ada.expect('peer-left')
    cleo = await people.join(room, 'Cleo', let_in_by=ada)
    assert cleo.joined['peers'] == [{'id': ada.id, 'name': 'Ada'}]


@pytest.mark.parametrize('forge', ['garbage', 'tampered', 'other secret', 'truncated'])
async def test_a_forged_ticket_is_refused(people: People, room: str, forge: str) -> None:
    genuine = (await people.server.ticket(room, 'Eve'))['ticket']
    ticket = {
        'garbage': 'eyJyIjoiSmIzcDBtOWtxNFQxYll4WnoyYzF2QSJ9.Zz.abc',
        'tampered': genuine[:3] + ('A' if genuine[3] != 'A' else 'B') + genuine[4:],
        'other secret': TicketMint('not-the-servers-secret-0123', 900).issue(Ticket(room, 'Eve', new_peer_id())),
        'truncated': genuine[:-4],
    }[forge]
    eve = await people.connect('Eve')
    await eve.fails('join', {'ticket': ticket}, 'bad-ticket')
    await eve.fails('chat', {'text': 'Am I in?'}, 'not-joined')


async def test_a_genuine_ticket_for_a_room_that_does_not_exist_is_no_such_room(people: People) -> None:
    ticket = TicketMint(people.server.secret, 900).issue(Ticket(new_room_id(), 'Ada', new_peer_id()))
    ada = await people.connect('Ada')
    await ada.fails('join', {'ticket': ticket}, 'no-such-room')


@pytest.mark.parametrize(('event', 'data'), [
    ('signal', {'to': 'p0Qm2Lx8aZw', 'description': OFFER}),
    ('chat', {'text': 'Hello?'}),
    ('state', {'audio': True, 'video': False}),
    ('answer', {'id': 'p0Qm2Lx8aZw'}),
    ('decline', {'id': 'p0Qm2Lx8aZw'}),
    ('leave', {}),
])
async def test_nothing_but_join_works_before_joining(people: People, event: str, data: Any) -> None:
    stranger = await people.connect('Stranger')
    await stranger.fails(event, data, 'not-joined')


async def test_joins_are_limited_per_address(people: People, room: str) -> None:
    address = new_address()
    guesser = await people.connect('Guesser', address=address)
    replies = [await guesser.call('join', {'ticket': f'guess-{n}'}) for n in range(40)]
    codes = [reply['code'] for reply in replies]
    assert 'rate-limited' in codes
    assert codes.index('rate-limited') >= 10, 'ordinary reconnects must not be limited'
    assert set(codes[:codes.index('rate-limited')]) == {'bad-ticket'}
    # The limit holds for the address, not the connection...
    neighbour = await people.connect('Neighbour', address=address)
    ticket = await people.server.ticket(room, 'Neighbour')
    assert (await neighbour.call('join', {'ticket': ticket['ticket']}))['code'] == 'rate-limited'
    # ...and people elsewhere are not affected.
    ada = await people.join(room, 'Ada')
    assert ada.joined['ok'] is True


# --- leaving ------------------------------------------------------------------------------------

async def test_hanging_up_tells_the_others(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    await bob.hangs_up()
    assert await ada.expect('peer-left') == {'id': bob.id, 'name': 'Bob', 'reason': 'left'}
    # Bob's socket stays open, but he is out of the call until he joins again.
    await bob.fails('chat', {'text': 'Still there?'}, 'not-joined')
    await bob.fails('signal', {'to': ada.id, 'description': OFFER}, 'not-joined')
    await bob.enter({'ticket': bob.ticket, 'peer': bob.id}, let_in_by=ada)  # a hang-up rings again
    assert bob.joined['peers'] == [{'id': ada.id, 'name': 'Ada'}]
    assert await ada.expect('peer-joined') == {'id': bob.id, 'name': 'Bob'}
    assert bob.heard_nothing_more()


async def test_closing_the_connection_tells_the_others(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    await bob.close()
    assert await ada.expect('peer-left') == {'id': bob.id, 'name': 'Bob', 'reason': 'disconnected'}
    assert (await people.join(room, 'Cleo', let_in_by=ada)).joined['peers'] == [{'id': ada.id, 'name': 'Ada'}]


async def test_a_dropped_connection_comes_back_without_ringing(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    await bob.close()  # lost network, a reload
    assert (await ada.expect('peer-left'))['reason'] == 'disconnected'
    bob_again = await people.connect('Bob again')
    await bob_again.enter({'ticket': bob.ticket, 'peer': bob.id})  # no knock: he is on the guest list
    assert bob_again.joined['peers'] == [{'id': ada.id, 'name': 'Ada'}]
    assert await ada.expect('peer-joined') == {'id': bob.id, 'name': 'Bob'}


async def test_joining_again_from_another_page_replaces_the_old_connection(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    # Ada reloads her page: a new connection with her same ticket and peer id.
    ada_again = await people.connect('Ada (reloaded)')
    await ada_again.enter({'ticket': ada.ticket, 'peer': ada.id})
    assert ada_again.joined == {'ok': True, 'waiting': False, 'you': {'id': ada.id, 'name': 'Ada'},
                                'peers': [{'id': bob.id, 'name': 'Bob'}], 'history': []}
    assert await ada.expect('error') == {'ok': False, 'code': 'replaced',
                                         'message': 'You joined this call from another tab.', 'event': 'join'}
    await asyncio.wait_for(ada.gone.wait(), WAIT)
    assert await bob.next() == ('peer-left', {'id': ada.id, 'name': 'Ada', 'reason': 'replaced'})
    assert await bob.next() == ('peer-joined', {'id': ada.id, 'name': 'Ada'})
    # The call goes on with the new connection, and the old one's close changed nothing.
    assert await bob.call('signal', {'to': ada.id, 'description': OFFER}) == {'ok': True}
    assert await ada_again.expect('signal') == {'from': bob.id, 'description': OFFER}
    await bob.say('Welcome back')
    assert (await ada_again.expect('chat'))['text'] == 'Welcome back'
    assert (await bob.expect('chat'))['text'] == 'Welcome back'
    assert bob.heard_nothing_more() and ada_again.heard_nothing_more()
