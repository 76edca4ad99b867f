"""One person cannot hold a call's free seat by knocking again and again (issue 11, item 13): at most
KNOCKS_PER_ADDRESS knocks per address per room, refused with rate-limited after that; others may still knock."""

from __future__ import annotations

from skycall.signaling.session import KNOCKED_TOO_OFTEN, KNOCKS_PER_ADDRESS
from skycall.testing.people import Participant, People
from skycall.testing.processes import SkyCallProcess


async def knock(grace: Participant, ada: Participant, ticket: dict[str, str]) -> None:
    reply = await grace.call('join', {'ticket': ticket['ticket']})
    assert reply['waiting'] is True, reply
    assert await ada.expect('knock') == {'id': ticket['peer'], 'name': 'Grace'}


async def refused(grace: Participant, ticket: dict[str, str]) -> None:
    reply = await grace.fails('join', {'ticket': ticket['ticket']}, 'rate-limited')
    assert reply['message'] == KNOCKED_TOO_OFTEN


async def test_knocking_and_cancelling_over_and_over_is_refused_and_never_rings(
        server: SkyCallProcess, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    ticket = await server.ticket(room, 'Grace')
    grace = await people.connect('Grace')
    for _ in range(KNOCKS_PER_ADDRESS):
        await knock(grace, ada, ticket)
        await grace.hangs_up()  # cancel, and knock again
        assert await ada.expect('knock-ended') == {'id': ticket['peer'], 'name': 'Grace', 'reason': 'cancelled'}
    await refused(grace, ticket)
    await ada.say('anyone there?')
    assert (await ada.expect('chat'))['text'] == 'anyone there?', 'no popup for the refused knock'
    # Someone else (another address) may still knock: the seat is free.
    bob = await people.connect('Bob')
    bob_ticket = await server.ticket(room, 'Bob')
    assert await bob.join_or_knock(bob_ticket) is False
    assert await ada.expect('knock') == {'id': bob_ticket['peer'], 'name': 'Bob'}
    # So may Grace on another call.
    other = await server.create_room()
    await people.join(other, 'Cleo')
    assert await grace.join_or_knock(await server.ticket(other, 'Grace')) is False


async def test_knocking_again_while_knocking_is_counted_and_the_refusal_frees_the_seat(
        server: SkyCallProcess, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    ticket = await server.ticket(room, 'Grace')
    grace = await people.connect('Grace')
    for _ in range(KNOCKS_PER_ADDRESS):  # each join renews the knock, which holds the seat
        await knock(grace, ada, ticket)
    await refused(grace, ticket)
    assert await ada.expect('knock-ended') == {'id': ticket['peer'], 'name': 'Grace', 'reason': 'cancelled'}
    await grace.fails('leave', {}, 'not-joined')  # the knock is over
    bob_ticket = await server.ticket(room, 'Bob')
    bob = await people.connect('Bob')
    assert await bob.join_or_knock(bob_ticket) is False  # not room-full: Grace holds no seat
    assert await ada.expect('knock') == {'id': bob_ticket['peer'], 'name': 'Bob'}
