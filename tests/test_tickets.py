"""Join tickets: only what this server signed, recently, for a well-formed room, name and peer, is let in."""

from __future__ import annotations

import time

import pytest

from skycall.errors import SkyCallError
from skycall.protocol import new_peer_id, new_room_id
from skycall.tickets import Ticket, TicketMint

SECRET = 'the-servers-secret-0123456789'


@pytest.fixture
def mint() -> TicketMint:
    return TicketMint(SECRET, max_age_seconds=900)


@pytest.fixture
def ada() -> Ticket:
    return Ticket(room=new_room_id(), name='Ada', peer=new_peer_id())


def refused(mint: TicketMint, token: str) -> SkyCallError:
    with pytest.raises(SkyCallError) as caught:
        mint.check(token)
    return caught.value


def test_a_ticket_round_trips(mint: TicketMint, ada: Ticket) -> None:
    assert mint.check(mint.issue(ada)) == ada


def test_a_ticket_is_url_safe_text(mint: TicketMint, ada: Ticket) -> None:
    token = mint.issue(Ticket(room=ada.room, name='<Ada & "Grace"> ☎', peer=ada.peer))
    assert token.isascii() and not set(token) & set(' <>"&?#/+=%')
    assert mint.check(token).name == '<Ada & "Grace"> ☎'


def test_another_server_with_the_same_secret_accepts_it(ada: Ticket) -> None:
    """Several workers share one secret, so a ticket from one works on another."""
    assert TicketMint(SECRET, 900).check(TicketMint(SECRET, 900).issue(ada)) == ada


@pytest.mark.parametrize('position', [0, 5, -30, -5, -2])
def test_a_tampered_ticket_is_refused(mint: TicketMint, ada: Ticket, position: int) -> None:
    token = mint.issue(ada)
    changed = token[position].swapcase() if token[position].isalpha() else ('A' if token[position] != 'A' else 'B')
    tampered = token[:position] + changed + token[position:][1:]
    assert tampered != token
    assert refused(mint, tampered).code == 'bad-ticket'


def test_a_signature_cannot_be_moved_to_another_payload(mint: TicketMint, ada: Ticket) -> None:
    mine = mint.issue(Ticket(room=ada.room, name='Mallory', peer=new_peer_id()))
    theirs = mint.issue(ada)
    mallory_payload = mine.split('.', 1)[0]
    forged = mallory_payload + '.' + theirs.split('.', 1)[1]
    assert refused(mint, forged).code == 'bad-ticket'


@pytest.mark.parametrize('token', ['', 'garbage', 'a.b.c', '.', '..', 'eyJyIjoiIn0', '\x00' * 10, 'x' * 5000])
def test_garbage_is_refused(mint: TicketMint, token: str) -> None:
    assert refused(mint, token).code == 'bad-ticket'


def test_a_ticket_signed_with_another_secret_is_refused(mint: TicketMint, ada: Ticket) -> None:
    foreign = TicketMint('someone-elses-secret-0123456789', max_age_seconds=900).issue(ada)
    assert refused(mint, foreign).code == 'bad-ticket'


def test_an_expired_ticket_is_refused(ada: Ticket) -> None:
    short_lived = TicketMint(SECRET, max_age_seconds=0)
    token = short_lived.issue(ada)
    # Signed timestamps count whole seconds: poll until the ticket's second is over.
    deadline = time.monotonic() + 3
    while True:
        try:
            short_lived.check(token)
        except SkyCallError as error:
            assert error.code == 'bad-ticket'
            break
        assert time.monotonic() < deadline, 'the ticket never expired'
        time.sleep(0.02)
    # Its signature is intact: age alone is why it was refused.
    assert TicketMint(SECRET, max_age_seconds=900).check(token) == ada


@pytest.mark.parametrize('ticket', [
    Ticket(room='short', name='Ada', peer='p'),
    Ticket(room='room with spaces in it', name='Ada', peer='p'),
    Ticket(room=new_room_id(), name='', peer='p'),
    Ticket(room=new_room_id(), name='n' * 65, peer='p'),
    Ticket(room=new_room_id(), name='Ada', peer=''),
], ids=['short room', 'bad room', 'empty name', 'long name', 'empty peer'])
def test_a_signed_but_malformed_ticket_is_refused(mint: TicketMint, ticket: Ticket) -> None:
    assert refused(mint, mint.issue(ticket)).code == 'bad-ticket'


def test_the_refusal_says_what_to_do(mint: TicketMint) -> None:
    assert refused(mint, 'garbage').to_dict('join') == {
        'ok': False, 'code': 'bad-ticket', 'message': 'Your invitation has expired. Open the link again.',
        'event': 'join'}
