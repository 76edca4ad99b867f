"""The signaling server as people meet it, for what they send: relaying, bad input, limits, the HTTP API.

A real SkyCall process and real socket.io clients, as in test_signaling.py (joining and leaving). Each
participant connects from an address of its own on the loopback network (127.1.x.y): the server limits
rooms, joins and connections per address.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
import socketio

from skycall.protocol import MAX_CHAT, MAX_SDP, new_peer_id, new_room_id
from skycall.testing.net import new_address
from skycall.testing.people import NOTHING, WAIT, People
from skycall.testing.samples import ANSWER, CANDIDATE, OFFER

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server


# --- relaying -----------------------------------------------------------------------------------

async def test_signals_reach_the_addressed_peer_stamped_with_the_senders_id(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    # Bob, the newcomer, offers; he cannot pretend to be someone else.
    reply = await bob.call('signal', {'to': ada.id, 'description': OFFER, 'from': 'someone-else', 'name': 'Mallory'})
    assert reply == {'ok': True}
    assert await ada.expect('signal') == {'from': bob.id, 'description': OFFER}
    assert await ada.call('signal', {'to': bob.id, 'description': ANSWER}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'description': ANSWER}
    assert await ada.call('signal', {'to': bob.id, 'candidate': CANDIDATE}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'candidate': CANDIDATE}
    assert await ada.call('signal', {'to': bob.id, 'candidate': None}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'candidate': None}
    # Ada, the answerer, asks Bob for a fresh offer.
    assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'renegotiate': True}
    # A signal goes to its one target, never back to the sender.
    assert ada.heard_nothing_more() and bob.heard_nothing_more()


async def test_a_late_joiner_gets_the_chat_history_in_order(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    first, second = await ada.say('first'), await ada.say('second')
    assert [(await ada.expect('chat'))['text'] for _ in range(2)] == ['first', 'second']
    bob = await people.join(room, 'Bob', let_in_by=ada)
    assert [(m['id'], m['name'], m['text']) for m in bob.joined['history']] == [
        (first['id'], 'Ada', 'first'), (second['id'], 'Ada', 'second')]


async def test_chat_reaches_everyone_under_the_name_on_the_ticket(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    before = time.time()
    reply = await ada.call('chat', {'text': '  Hello <b>there</b>  ', 'name': 'Mallory', 'from': bob.id,
                                    'id': 'x', 'ts': 0})
    after = time.time()
    assert reply == {'ok': True, 'id': reply['id']} and reply['id'] != 'x'
    for person in (ada, bob):
        message = await person.expect('chat')
        assert message == {'id': reply['id'], 'from': ada.id, 'name': 'Ada', 'text': 'Hello <b>there</b>',
                           'ts': message['ts']}
        assert before - 1 <= message['ts'] <= after + 1


async def test_microphone_and_camera_state_reaches_the_others(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    assert await bob.call('state', {'audio': False, 'video': True, 'id': ada.id}) == {'ok': True}
    assert await ada.expect('peer-state') == {'id': bob.id, 'audio': False, 'video': True}
    await bob.fails('state', {'audio': 'off', 'video': True}, 'bad-message')
    await bob.fails('state', {'audio': True}, 'bad-message')
    await ada.catch_up()
    assert (await bob.expect('chat'))['name'] == 'Ada'  # and nothing about his own state before it


async def test_nothing_crosses_from_one_room_to_another(people: People, room: str, other_room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(other_room, 'Bob')
    cleo = await people.join(other_room, 'Cleo', let_in_by=bob)
    await bob.expect('peer-joined')
    # Ada knows Bob's peer id (say it leaked); addressing him from her room delivers nothing, and the
    # answer is the same as for an id that exists nowhere, or her own.
    to_bob = await ada.fails('signal', {'to': bob.id, 'description': OFFER}, 'no-such-peer')
    to_nobody = await ada.fails('signal', {'to': new_peer_id(), 'description': OFFER}, 'no-such-peer')
    to_herself = await ada.fails('signal', {'to': ada.id, 'candidate': CANDIDATE}, 'no-such-peer')
    assert to_bob == to_nobody == to_herself
    await ada.say('Anyone in here?')
    assert (await ada.expect('chat'))['text'] == 'Anyone in here?'
    # What Bob hears next comes from his own room, and it is all he hears.
    assert await cleo.call('signal', {'to': bob.id, 'candidate': CANDIDATE}) == {'ok': True}
    assert await bob.next() == ('signal', {'from': cleo.id, 'candidate': CANDIDATE})
    assert bob.heard_nothing_more() and cleo.heard_nothing_more() and ada.heard_nothing_more()


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(('event', 'data', 'code'), [
    ('chat', NOTHING, 'bad-message'),
    ('chat', 'Hello', 'bad-message'),
    ('chat', 42, 'bad-message'),
    ('chat', ['Hello'], 'bad-message'),
    ('chat', {}, 'bad-message'),
    ('chat', {'text': 42}, 'bad-message'),
    ('chat', {'text': None}, 'bad-message'),
    ('chat', {'text': ' \n '}, 'bad-message'),
    ('chat', {'text': 'x' * (MAX_CHAT + 1)}, 'too-large'),
    ('chat', {'text': 'x' * 60_000}, 'too-large'),  # a frame just under 64 KiB
    ('signal', 'offer', 'bad-message'),
    ('signal', {'to': 'p0Qm2Lx8aZw'}, 'bad-message'),
    ('signal', {'to': 'p0Qm2Lx8aZw', 'description': OFFER, 'candidate': CANDIDATE}, 'bad-message'),
    ('signal', {'to': 'p0Qm2Lx8aZw', 'description': {'type': 'bogus', 'sdp': 'v=0'}}, 'bad-message'),
    ('signal', {'to': 'p0Qm2Lx8aZw', 'renegotiate': False}, 'bad-message'),
    ('signal', {'to': 'p0Qm2Lx8aZw', 'description': {'type': 'offer', 'sdp': 's' * (MAX_SDP + 1)}}, 'too-large'),
    ('signal', {'to': 'p0Qm2Lx8aZw', 'candidate': {'candidate': 'c' * 513}}, 'too-large'),
    ('signal', {'to': '<script>', 'candidate': None}, 'bad-message'),
    ('join', 'ticket', 'bad-message'),
    ('join', {'ticket': 42}, 'bad-message'),
    ('leave', 'now', 'bad-message'),
    ('state', {'audio': 'on', 'video': True}, 'bad-message'),
    ('answer', {'id': 'not an id'}, 'bad-message'),
    ('decline', 'p0Qm2Lx8aZw', 'bad-message'),
], ids=lambda value: repr(value)[:30])
async def test_bad_input_gets_an_error_and_the_call_goes_on(people: People, room: str,
                                                            event: str, data: Any, code: str) -> None:
    ada = await people.join(room, 'Ada')
    await ada.fails(event, data, code)
    reply = await ada.say('Still here')
    assert await ada.expect('chat') == {'id': reply['id'], 'from': ada.id, 'name': 'Ada', 'text': 'Still here',
                                        'ts': pytest.approx(time.time(), abs=5)}


async def test_an_event_with_several_arguments_is_a_bad_message(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    reply = await ada.sio.call('chat', ({'text': 'one'}, {'text': 'two'}), timeout=1)  # TimeoutError today
    assert reply['code'] == 'bad-message'
    await ada.say('Still here')
    assert (await ada.expect('chat'))['text'] == 'Still here'  # the error came once: in the acknowledgement


@pytest.mark.parametrize('size', [100_000, 2_000_000])
async def test_a_frame_over_64_kib_disconnects_only_its_sender(people: People, room: str, size: int) -> None:
    ada = await people.join(room, 'Ada')
    mallory = await people.join(room, 'Mallory', let_in_by=ada)
    await ada.expect('peer-joined')
    await mallory.sio.emit('chat', {'text': 'x' * size})
    await asyncio.wait_for(mallory.gone.wait(), WAIT)
    assert await ada.expect('peer-left') == {'id': mallory.id, 'name': 'Mallory', 'reason': 'disconnected'}
    await ada.say('Good riddance')
    assert (await ada.expect('chat'))['text'] == 'Good riddance'
    assert not any(event == 'chat' and 'x' * 100 in str(data) for event, data in ada.received)


@pytest.mark.parametrize('origin', ['http://evil.example', 'null', 'https://127.0.0.1:{port}',
                                    'http://127.0.0.1:{other_port}', 'http://localhost.evil.example:{port}'])
async def test_a_handshake_from_another_origin_is_refused(people: People, server: Server, origin: str) -> None:
    origin = origin.format(port=server.port, other_port=server.port + 1)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await people.connect('Evil page', headers={'Origin': origin})


@pytest.mark.parametrize('origin', ['same', 'none'])
async def test_a_handshake_from_the_same_origin_or_without_one_is_accepted(
        people: People, server: Server, room: str, origin: str) -> None:
    headers = {'Origin': server.url} if origin == 'same' else None
    ada = await people.connect('Ada', headers=headers)
    await ada.enter(await server.ticket(room, 'Ada'))


async def test_flooding_the_chat_is_rate_limited(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    replies = []
    for n in range(50):
        replies.append(await bob.call('chat', {'text': f'spam {n}'}))
        if replies[-1].get('code') == 'rate-limited':
            break
    assert replies[-1] == {'ok': False, 'code': 'rate-limited', 'message': 'You are sending messages too fast.',
                           'event': 'chat'}
    accepted = [reply for reply in replies if reply.get('ok')]
    assert len(accepted) >= 5, 'a short burst must pass'
    received = [await ada.expect('chat') for _ in accepted]
    assert [message['id'] for message in received] == [reply['id'] for reply in accepted]


async def test_flooding_signals_is_rate_limited(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    codes = []
    for _ in range(400):
        reply = await bob.call('signal', {'to': ada.id, 'candidate': CANDIDATE})
        codes.append(reply.get('code', 'ok'))
        if codes[-1] == 'rate-limited':
            break
    assert codes[-1] == 'rate-limited'
    assert codes.count('ok') >= 100, 'ICE comes in bursts; a burst must pass'


async def test_no_one_ever_receives_a_socket_id(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await bob.call('signal', {'to': ada.id, 'description': OFFER})
    await ada.call('signal', {'to': bob.id, 'candidate': CANDIDATE})
    await ada.say('Hi Bob')
    await bob.call('chat', 'not an object')
    await bob.call('signal', {'to': new_peer_id(), 'description': OFFER})
    ada_again = await people.connect('Ada again')
    await ada_again.enter({'ticket': ada.ticket, 'peer': ada.id})
    await asyncio.wait_for(ada.gone.wait(), WAIT)
    await bob.say('Hi again')
    await ada_again.expect('chat')
    await bob.call('state', {'audio': False, 'video': True})
    await ada_again.catch_up()
    await bob.catch_up()
    await ada_again.expect('chat')
    await bob.hangs_up()
    await ada_again.expect('peer-left')
    await bob.enter({'ticket': bob.ticket, 'peer': bob.id}, let_in_by=ada_again)
    await bob.close()
    await ada_again.catch_up()
    everyone = [ada, bob, ada_again]
    sids = set().union(*(person.sids for person in everyone))
    assert len(sids) >= 2 * len(everyone)
    for person in everyone:
        assert person.received, f'{person.name} heard nothing, so this test proves nothing'
        text = json.dumps(person.received)
        assert not [sid for sid in sids if sid in text], f'{person.name} received a socket id'


# --- the HTTP API -------------------------------------------------------------------------------

async def test_rooms_are_created_with_unguessable_ids(server: Server) -> None:
    rooms = {await server.create_room() for _ in range(20)}
    assert len(rooms) == 20
    assert all(len(room) == 22 for room in rooms)


async def test_a_ticket_names_its_holder_and_a_fresh_peer_id(server: Server, room: str) -> None:
    first = await server.ticket(room, '  Ada  ')
    second = await server.ticket(room, 'Ada')
    assert set(first) == {'ticket', 'peer', 'name'}
    assert first['name'] == second['name'] == 'Ada'
    assert first['peer'] != second['peer'] and len(first['peer']) == 11


@pytest.mark.parametrize('body', [{'name': ''}, {'name': 'Ada\nLovelace'}, {'name': 42}, {}, ['Ada'], None])
async def test_a_bad_name_is_refused_the_same_way_for_any_room(server: Server, room: str, body: Any) -> None:
    answers = [await server.request_ticket(where, body) for where in (room, new_room_id(), 'bad')]
    assert {answer.status_code for answer in answers} == {400}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()['code'] == 'bad-message'


async def test_a_name_too_long_is_too_large(server: Server, room: str) -> None:
    answer = await server.request_ticket(room, {'name': 'n' * 65})
    assert answer.status_code == 400 and answer.json()['code'] == 'too-large'


async def test_a_missing_room_and_a_malformed_one_get_the_same_answer(server: Server) -> None:
    answers = [await server.request_ticket(room, {'name': 'Eve'})
               for room in (new_room_id(), new_room_id()[:20] + '__', 'short', 'has.dots.in.it.and.more',
                            'x' * 64, 'x' * 300, '%00' * 20)]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.content for answer in answers}) == 1
    assert answers[0].json() == {'ok': False, 'code': 'no-such-room',
                                 'message': 'This call does not exist or has ended.'}
    assert len({answer.headers.get('content-type') for answer in answers}) == 1


async def test_guessing_room_ids_finds_nothing(server: Server) -> None:
    await server.create_room()
    async with server.http() as client:
        answers = [await client.post(f'/api/rooms/{new_room_id()}/tickets', json={'name': 'Eve'})
                   for _ in range(100)]
    assert {answer.status_code for answer in answers} == {404}


async def test_creating_rooms_in_a_loop_hits_a_cap(server: Server) -> None:
    async with server.http(local_address=new_address()) as client:
        answers = []
        for _ in range(100):
            answers.append(await client.post('/api/rooms'))
            if answers[-1].status_code != 201:
                break
    assert answers[-1].status_code == 429
    assert answers[-1].json()['code'] == 'rate-limited'
    assert len(answers) > 5, 'starting a few calls in a row is normal'
    # Someone else is not affected.
    assert len(await server.create_room()) == 22
