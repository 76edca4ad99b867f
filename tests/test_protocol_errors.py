"""Errors reach a client once, as docs/protocol.md has it: in the acknowledgement when one was asked for,
else as the ``error`` event; a refused connection gets the same JSON error object; each kind of
message has its own budget.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
import socketio

from skycall.errors import MESSAGES
from skycall.signaling.session import MAX_CONNECTIONS_PER_ADDRESS
from skycall.testing.net import new_address
from skycall.testing.people import Participant, People
from skycall.testing.samples import CANDIDATE

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server


async def test_a_failure_with_an_acknowledgement_is_told_only_there(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    reply = await ada.call('chat', {'text': ''})
    assert reply == {'ok': False, 'code': 'bad-message', 'message': MESSAGES['bad-message'], 'event': 'chat'}
    said = await ada.say('Still here')
    # An error event would have come before the acknowledgement, so before this chat.
    event, data = await ada.next()
    assert (event, data['id']) == ('chat', said['id'])


async def test_a_failure_without_an_acknowledgement_is_the_error_event(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    await ada.sio.emit('chat', {'text': 'x' * 2001})
    assert await ada.expect('error') == {'ok': False, 'code': 'too-large', 'event': 'chat',
                                         'message': 'The message is too long (at most 2000 characters).'}
    await ada.sio.emit('shout', {'text': 'hello'})  # an unknown event: no `event` field
    assert await ada.expect('error') == {'ok': False, 'code': 'bad-message', 'message': MESSAGES['bad-message']}


async def test_an_unknown_event_is_acknowledged_with_the_error(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    assert await ada.call('shout', {'text': 'hello'}) == {'ok': False, 'code': 'bad-message',
                                                          'message': MESSAGES['bad-message']}


async def test_one_connection_too_many_is_refused_until_one_closes(people: People, server: Server) -> None:
    address = new_address()
    tabs = [await people.connect(f'tab {n}', address=address) for n in range(MAX_CONNECTIONS_PER_ADDRESS)]
    extra = Participant(server.url, 'one tab too many', address)
    people.everyone.append(extra)
    with pytest.raises(socketio.exceptions.ConnectionError):  # refused at the handshake (docs/protocol.md)
        await extra.connect()
    await tabs[0].close()
    again = await connect_once_the_server_has_counted_the_close(people, address)
    assert await again.call('shout', {}) == {'ok': False, 'code': 'bad-message', 'message': MESSAGES['bad-message']}


async def test_a_burst_of_state_messages_does_not_use_up_the_signal_budget(people: People, room: str) -> None:
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await ada.expect('peer-joined')
    codes = []
    for n in range(300):
        codes.append((await bob.call('state', {'audio': n % 2 == 0, 'video': True})).get('code', 'ok'))
        if codes[-1] == 'rate-limited':
            break
    assert codes[-1] == 'rate-limited', 'a flood of state messages is limited'
    assert codes.count('ok') >= 10, 'a few changes in a row are normal'
    # ICE candidates still go through: state has a budget of its own.
    for _ in range(100):
        assert await bob.call('signal', {'to': ada.id, 'candidate': CANDIDATE}) == {'ok': True}


async def connect_once_the_server_has_counted_the_close(people: People, address: str, within: float = 5) -> Participant:
    """The server hears of a close a moment after the client: try again until it has (or the deadline)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await people.connect('a tab after one closed', address=address)
        except socketio.exceptions.ConnectionError:
            assert time.monotonic() < deadline, 'the closed tab was still counted'
            await asyncio.sleep(0.05)
