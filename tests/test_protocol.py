"""Every message type of docs/protocol.md: what parses, what is refused, and with which stable code."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from skycall.calls import room_from_reference
from skycall.errors import MESSAGES, SkyCallError
from skycall.protocol import (
    MAX_CANDIDATE,
    MAX_CHAT,
    MAX_NAME,
    MAX_SDP,
    Chat,
    Join,
    KnockReply,
    Leave,
    MediaState,
    Message,
    NewTicket,
    Signal,
    is_room_id,
    new_room_id,
    parse,
)

PEER = 'p0Qm2Lx8aZw'
ROOM = 'Jb3p0m9kq4T1bYxZz2c1vA'
OFFER = {'type': 'offer', 'sdp': 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'}
CANDIDATE = {'candidate': 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host',
             'sdpMid': '0', 'sdpMLineIndex': 0, 'usernameFragment': 'a1b2'}
MODELS: list[type[Message]] = [Join, Signal, Chat, Leave, KnockReply, MediaState, NewTicket]


def refused(model: type[Message], data: Any) -> SkyCallError:
    with pytest.raises(SkyCallError) as caught:
        parse(model, data)
    return caught.value


# --- what parses --------------------------------------------------------------------------------

@pytest.mark.parametrize(('model', 'data', 'expected'), [
    (Join, {'ticket': 'eyJyIjoi.sig'}, {'ticket': 'eyJyIjoi.sig'}),
    (Join, {'ticket': 't' * 2048}, {'ticket': 't' * 2048}),
    (Chat, {'text': 'Hello <b>there</b>'}, {'text': 'Hello <b>there</b>'}),
    (Chat, {'text': '  trimmed \n'}, {'text': 'trimmed'}),
    (Chat, {'text': 'x' * MAX_CHAT}, {'text': 'x' * MAX_CHAT}),
    (Chat, {'text': '☎️ Grüße, 你好'}, {'text': '☎️ Grüße, 你好'}),
    (Leave, {}, {}),
    (Leave, None, {}),
    (KnockReply, {'id': PEER}, {'id': PEER}),
    (KnockReply, {'id': 'p' * 64}, {'id': 'p' * 64}),
    (MediaState, {'audio': True, 'video': False}, {'audio': True, 'video': False}),
    (MediaState, {'audio': False, 'video': True}, {'audio': False, 'video': True}),
    (NewTicket, {'name': 'Ada'}, {'name': 'Ada'}),
    (NewTicket, {'name': '  Ada Lovelace  '}, {'name': 'Ada Lovelace'}),
    (NewTicket, {'name': 'n' * MAX_NAME}, {'name': 'n' * MAX_NAME}),
    (NewTicket, {'name': '<img src=x onerror=alert(1)>'}, {'name': '<img src=x onerror=alert(1)>'}),
], ids=lambda value: repr(value)[:40])
def test_good_messages_parse(model: type[Message], data: Any, expected: dict[str, Any]) -> None:
    assert parse(model, data).model_dump() == expected


@pytest.mark.parametrize(('data', 'payload'), [
    ({'to': PEER, 'description': OFFER}, {'description': OFFER}),
    ({'to': PEER, 'description': {'type': 'answer', 'sdp': 'v=0'}}, {'description': {'type': 'answer', 'sdp': 'v=0'}}),
    ({'to': PEER, 'description': {'type': 'offer', 'sdp': 's' * MAX_SDP}},
     {'description': {'type': 'offer', 'sdp': 's' * MAX_SDP}}),
    ({'to': PEER, 'candidate': CANDIDATE}, {'candidate': CANDIDATE}),
    ({'to': PEER, 'candidate': {'candidate': 'candidate:2', 'sdpMid': '1'}},
     {'candidate': {'candidate': 'candidate:2', 'sdpMid': '1'}}),
    ({'to': PEER, 'candidate': {'candidate': 'c' * MAX_CANDIDATE}}, {'candidate': {'candidate': 'c' * MAX_CANDIDATE}}),
    ({'to': PEER, 'candidate': {'candidate': ''}}, {'candidate': {'candidate': ''}}),
    ({'to': PEER, 'candidate': None}, {'candidate': None}),
    ({'to': PEER, 'renegotiate': True}, {'renegotiate': True}),
    ({'to': 'p' * 64, 'renegotiate': True}, {'renegotiate': True}),
], ids=lambda value: repr(value)[:50])
def test_a_signal_parses_and_relays_exactly_its_one_payload(data: dict[str, Any], payload: dict[str, Any]) -> None:
    signal = parse(Signal, data)
    assert signal.to == data['to']
    assert signal.payload() == payload


@pytest.mark.parametrize(('model', 'data'), [
    (Chat, {'text': 'hi', 'from': 'INJECTED', 'name': 'INJECTED', 'id': 'INJECTED', 'ts': 'INJECTED'}),
    (Signal, {'to': PEER, 'candidate': None, 'from': 'INJECTED', 'name': 'INJECTED'}),
    (Join, {'ticket': 't', 'room': 'INJECTED', 'peer': 'INJECTED', 'name': 'INJECTED'}),
    (NewTicket, {'name': 'Ada', 'peer': 'INJECTED', 'room': 'INJECTED'}),
    (Leave, {'from': 'INJECTED'}),
    (KnockReply, {'id': PEER, 'by': 'INJECTED'}),
    (MediaState, {'audio': True, 'video': True, 'id': 'INJECTED'}),
])
def test_client_sent_identity_fields_are_ignored(model: type[Message], data: dict[str, Any]) -> None:
    message = parse(model, data)
    assert set(message.model_dump()) <= set(model.model_fields)
    assert 'INJECTED' not in repr(message.model_dump())
    if isinstance(message, Signal):
        assert message.payload() == {'candidate': None}


# --- what is refused ----------------------------------------------------------------------------

NOT_OBJECTS = ['hello', 42, 4.2, True, ['ticket', 't'], [{'text': 'hi'}], b'{}']


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize('data', NOT_OBJECTS, ids=repr)
def test_anything_but_a_json_object_is_a_bad_message(model: type[Message], data: Any) -> None:
    assert refused(model, data).code == 'bad-message'


@pytest.mark.parametrize('model', [Join, Signal, Chat, KnockReply, MediaState, NewTicket], ids=lambda m: m.__name__)
def test_null_is_a_bad_message(model: type[Message]) -> None:
    assert refused(model, None).code == 'bad-message'


BAD_MESSAGES: list[tuple[type[Message], Any]] = [
    # join
    (Join, {}),
    (Join, {'ticket': None}),
    (Join, {'ticket': 42}),
    (Join, {'ticket': ['t']}),
    (Join, {'ticket': ''}),
    # signal: the target
    (Signal, {'description': OFFER}),
    (Signal, {'to': None, 'description': OFFER}),
    (Signal, {'to': 42, 'description': OFFER}),
    (Signal, {'to': '', 'description': OFFER}),
    (Signal, {'to': 'not an id!', 'description': OFFER}),
    (Signal, {'to': '../../etc', 'description': OFFER}),
    # signal: exactly one of description, candidate and renegotiate
    (Signal, {'to': PEER}),
    (Signal, {'to': PEER, 'description': OFFER, 'candidate': CANDIDATE}),
    (Signal, {'to': PEER, 'description': OFFER, 'candidate': None}),
    (Signal, {'to': PEER, 'description': None, 'candidate': None}),
    (Signal, {'to': PEER, 'description': OFFER, 'renegotiate': True}),
    (Signal, {'to': PEER, 'candidate': None, 'renegotiate': True}),
    (Signal, {'to': PEER, 'description': OFFER, 'candidate': CANDIDATE, 'renegotiate': True}),
    # signal: the description
    (Signal, {'to': PEER, 'description': 'offer'}),
    (Signal, {'to': PEER, 'description': {}}),
    (Signal, {'to': PEER, 'description': {'sdp': 'v=0'}}),
    (Signal, {'to': PEER, 'description': {'type': 'offer'}}),
    (Signal, {'to': PEER, 'description': {'type': 'offer', 'sdp': ''}}),
    (Signal, {'to': PEER, 'description': {'type': 'rollback', 'sdp': 'v=0'}}),
    (Signal, {'to': PEER, 'description': {'type': 'rollback'}}),
    (Signal, {'to': PEER, 'description': {'type': 'pranswer', 'sdp': 'v=0'}}),
    (Signal, {'to': PEER, 'description': {'type': 'OFFER', 'sdp': 'v=0'}}),
    (Signal, {'to': PEER, 'description': {'type': 'offer', 'sdp': 42}}),
    (Signal, {'to': PEER, 'description': {'type': 'offer', 'sdp': None}}),
    # signal: renegotiate
    (Signal, {'to': PEER, 'renegotiate': False}),
    (Signal, {'to': PEER, 'renegotiate': 'true'}),
    (Signal, {'to': PEER, 'renegotiate': {}}),
    # signal: the candidate
    (Signal, {'to': PEER, 'candidate': 'candidate:1 1 udp'}),
    (Signal, {'to': PEER, 'candidate': {}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 42}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'sdpMLineIndex': '0'}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'sdpMLineIndex': -1}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'sdpMLineIndex': 1.5}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'sdpMid': 0}}),
    # chat
    (Chat, {}),
    (Chat, {'text': None}),
    (Chat, {'text': 42}),
    (Chat, {'text': ['hi']}),
    (Chat, {'text': {'html': '<b>hi</b>'}}),
    (Chat, {'text': ''}),
    (Chat, {'text': '   '}),
    (Chat, {'text': '\n\t \r\n'}),
    # answer and decline
    (KnockReply, {}),
    (KnockReply, {'id': None}),
    (KnockReply, {'id': 42}),
    (KnockReply, {'id': ''}),
    (KnockReply, {'id': 'not an id'}),
    (KnockReply, {'id': [PEER]}),
    # state
    (MediaState, {}),
    (MediaState, {'audio': True}),
    (MediaState, {'video': True}),
    (MediaState, {'audio': 'true', 'video': True}),
    (MediaState, {'audio': 1, 'video': 0}),
    (MediaState, {'audio': None, 'video': True}),
    # the name in a ticket request
    (NewTicket, {}),
    (NewTicket, {'name': None}),
    (NewTicket, {'name': 42}),
    # names that are strings but not names: tests/test_names.py (the person is told what to change)
]


@pytest.mark.parametrize(('model', 'data'), BAD_MESSAGES, ids=lambda value: repr(value)[:60])
def test_malformed_messages_are_bad_messages(model: type[Message], data: Any) -> None:
    error = refused(model, data)
    assert error.code == 'bad-message'
    assert error.to_dict('x') == {'ok': False, 'code': 'bad-message', 'message': MESSAGES['bad-message'], 'event': 'x'}


TOO_LARGE: list[tuple[type[Message], Any]] = [
    (Join, {'ticket': 't' * 2049}),
    (Signal, {'to': 'p' * 65, 'candidate': None}),
    (Signal, {'to': PEER, 'description': {'type': 'offer', 'sdp': 's' * (MAX_SDP + 1)}}),
    (Signal, {'to': PEER, 'description': {'type': 'offer', 'sdp': 's' * 100_000}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c' * (MAX_CANDIDATE + 1)}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'sdpMid': 'm' * 33}}),
    (Signal, {'to': PEER, 'candidate': {'candidate': 'c', 'usernameFragment': 'u' * 257}}),
    (Chat, {'text': 'x' * (MAX_CHAT + 1)}),
    (Chat, {'text': 'x' * 100_000}),
    (KnockReply, {'id': 'p' * 65}),
    (NewTicket, {'name': 'n' * (MAX_NAME + 1)}),
]


@pytest.mark.parametrize(('model', 'data'), TOO_LARGE, ids=lambda value: repr(value)[:60])
def test_fields_over_their_limit_are_too_large(model: type[Message], data: Any) -> None:
    error = refused(model, data)
    assert error.code == 'too-large'  # the sentence of docs/protocol.md, with the field's limit
    assert re.fullmatch(r'The message is too long \(at most \d+ characters\)\.', error.message)


def test_a_too_large_field_wins_over_other_faults() -> None:
    """The person is told about the length, which they can fix, rather than a generic fault."""
    assert refused(Signal, {'to': 42, 'description': {'type': 'offer', 'sdp': 's' * (MAX_SDP + 1)}}).code \
        == 'too-large'


@pytest.mark.parametrize('payload', ['description', 'renegotiate'])
def test_a_null_description_or_renegotiate_is_a_bad_message(payload: str) -> None:
    assert refused(Signal, {'to': PEER, payload: None}).code == 'bad-message'


@pytest.mark.parametrize(('model', 'data'), [
    (Chat, {'text': 'x' * MAX_CHAT + '\n'}),
    (NewTicket, {'name': ' ' + 'n' * MAX_NAME + ' '}),
], ids=['chat', 'name'])
def test_limits_apply_after_trimming(model: type[Message], data: dict[str, Any]) -> None:
    parse(model, data)


def test_a_candidate_is_ascii_so_its_limit_is_in_bytes() -> None:
    candidate = 'é' * (MAX_CANDIDATE // 2 + 1)  # 257 characters, 514 bytes in UTF-8
    assert refused(Signal, {'to': PEER, 'candidate': {'candidate': candidate}}).code == 'bad-message'


# --- room ids and invite links ------------------------------------------------------------------

@pytest.mark.parametrize(('text', 'room'), [
    (ROOM, ROOM),
    (f'  {ROOM}\n', ROOM),
    (f'{ROOM}/', ROOM),
    (f'https://call.example.org/dial/{ROOM}', ROOM),
    (f'https://call.example.org/dial/{ROOM}/', ROOM),
    (f'http://127.0.0.1:8080/dial/{ROOM}?utm=x#top', ROOM),
    (f'https://call.example.org/call/{ROOM}', ROOM),
    (f'call.example.org/dial/{ROOM}', ROOM),
    ('', None),
    ('   ', None),
    (None, None),
    ('hello world', None),
    ('abc', None),
    ('short-id-15char', None),
    (ROOM + '!', None),
    (f'{ROOM} and more', None),
    ('https://call.example.org/', None),
    ('https://call.example.org/dial/', None),
    ('https://call.example.org/dial/abc', None),
    (f'https://call.example.org/dial/{ROOM}<script>', None),
    ('x' * 65, None),
    (f'https://call.example.org/{"a" * 3000}/dial/{ROOM}', None),
])
def test_room_from_reference(text: str | None, room: str | None) -> None:
    assert room_from_reference(text) == room  # type: ignore[arg-type]


def test_new_room_ids_carry_128_random_bits() -> None:
    ids = [new_room_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for room in ids[:1000]:
        assert re.fullmatch(r'[A-Za-z0-9_-]{22}', room)
        assert len(base64.urlsafe_b64decode(room + '==')) == 16
        assert is_room_id(room)
    # Every position of the id varies: no fixed prefix or counter hides in it.
    assert all(len({room[i] for room in ids}) > 32 for i in range(21))
