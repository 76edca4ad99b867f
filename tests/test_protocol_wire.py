"""What a real server sends is what skycall.protocol's outbound models describe: in a call that uses every
event, each event and acknowledgement parses with its model, and the model gives back exactly what came."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skycall.protocol import ACKS, OUTBOUND, ErrorReply
from skycall.testing.people import Participant, People
from skycall.testing.samples import CANDIDATE, OFFER

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server


class Acks:
    """Every acknowledgement received, with the event it answered."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []

    async def call(self, person: Participant, event: str, data: Any) -> Any:
        reply = await person.call(event, data)
        self.received.append((event, reply))
        return reply


async def _knock(people: People, acks: Acks, room: str, name: str, member: Participant) -> Participant:
    ticket = await people.server.ticket(room, name)
    person = await people.connect(name)
    person.ticket, person.id = ticket['ticket'], ticket['peer']
    assert (await acks.call(person, 'join', {'ticket': person.ticket}))['waiting'] is True
    assert (await member.expect('knock'))['id'] == person.id
    return person


async def test_every_event_and_acknowledgement_is_what_its_model_says(people: People, server: Server) -> None:
    room, acks = await server.create_room(), Acks()
    ada = await people.join(room, 'Ada')
    await acks.call(ada, 'chat', {'text': '  Hello <b>there</b> '})
    await ada.expect('chat')
    bob = await _knock(people, acks, room, 'Bob', ada)
    await acks.call(ada, 'answer', {'id': bob.id})
    await bob.expect('admitted')
    await ada.expect('knock-ended')
    assert (await acks.call(bob, 'join', {'ticket': bob.ticket}))['history'][0]['text'] == 'Hello <b>there</b>'
    await ada.expect('peer-joined')
    await acks.call(bob, 'state', {'audio': True, 'video': False})
    await ada.expect('peer-state')
    for payload in ({'description': OFFER}, {'candidate': CANDIDATE}, {'candidate': None}, {'renegotiate': True}):
        await acks.call(bob, 'signal', {'to': ada.id, **payload})
        assert (await ada.expect('signal')) == {'from': bob.id, **payload}
    assert (await acks.call(ada, 'signal', {'to': 'nobody', 'renegotiate': True}))['code'] == 'no-such-peer'
    assert (await acks.call(ada, 'chat', {'text': 'x' * 2001}))['code'] == 'too-large'
    await ada.sio.emit('chat', {'text': 'x' * 2001})  # no acknowledgement asked for: the error event instead
    await ada.expect('error')
    await acks.call(bob, 'leave', {})
    await ada.expect('peer-left')
    cleo = await _knock(people, acks, room, 'Cleo', ada)
    await acks.call(ada, 'decline', {'id': cleo.id})
    await cleo.expect('declined')
    await ada.expect('knock-ended')

    for event, data in [received for person in (ada, bob, cleo) for received in person.received]:
        assert OUTBOUND[event].model_validate(data).wire() == data, event
    for event, reply in acks.received:
        model = ACKS[event] if reply['ok'] else ErrorReply
        assert model.model_validate(reply).wire() == reply, event
    seen = {event for person in (ada, bob, cleo) for event, _ in person.received}
    assert seen == set(OUTBOUND), 'the call above should have brought every kind of event'
    assert {event for event, _ in acks.received} == set(ACKS)


async def test_an_unknown_event_gets_a_bad_message_that_names_no_event(people: People, server: Server) -> None:
    ada = await people.join(await server.create_room(), 'Ada')
    reply = await ada.call('shout', {'text': 'hello'})
    assert ErrorReply.model_validate(reply).wire() == reply == {
        'ok': False, 'code': 'bad-message',
        'message': 'SkyCall could not understand a message. Reload the page if the call misbehaves.'}
    await ada.say('Still here')
    assert (await ada.expect('chat'))['text'] == 'Still here'  # the error came once: in the acknowledgement
