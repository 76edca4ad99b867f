"""What a browser remembers (skycall/pages/memory.py): one signed cookie, bounded, expiring, written on Join only.

The pages through NiceGUI's simulated user (tests/conftest.py has it do the pages' cookie writes), the cookie
itself as values.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest
from itsdangerous import URLSafeTimedSerializer
from nicegui import ui
from nicegui.testing import User

from skycall.components.call_view import CallView
from skycall.config import get_settings
from skycall.pages.memory import COOKIE, MAX_AGE_SECONDS, ROOMS_KEPT, Memory, Signer
from skycall.protocol import MAX_NAME, new_peer_id, new_room_id
from skycall.tickets import TicketMint
from tests.cookies import COOKIE_WRITE
from tests.test_pages import arrives_at, button, dialog, field, joined_from_the_invite, new_room_via_api, start_a_call

SECRET = 'skycall-memory-tests-secret-0123456789'


def count_cookie_writes(user: User) -> list[str]:
    """The values the pages write into ``user``'s cookie from now on (the cookie is still written)."""
    written: list[str] = []
    store = user.javascript_rules[COOKIE_WRITE]

    def counted(match: re.Match[str]) -> None:
        written.append(match.group(2))
        store(match)

    user.javascript_rules[COOKIE_WRITE] = counted
    return written


async def written_times(written: list[str], count: int) -> None:
    """Wait until the pages have written the cookie ``count`` times."""
    deadline = time.monotonic() + 5
    while len(written) < count:
        assert time.monotonic() < deadline, f'the cookie was written {len(written)} times, not {count}'
        await asyncio.sleep(0.02)


def ticket_of(user: User) -> tuple[str, str, str]:
    ticket = TicketMint(get_settings().secret, 60).check(next(iter(user.find(CallView).elements)).props['ticket'])
    return ticket.room, ticket.name, ticket.peer


# --- on the pages ---------------------------------------------------------------------------------

async def test_an_invite_writes_nothing_until_join(user: User) -> None:
    written = count_cookie_writes(user)
    room = await new_room_via_api(user)
    response = await user.http_client.get(f'/dial/{room}')
    assert 'set-cookie' not in response.headers
    await user.open(f'/dial/{room}')
    assert written == [] and COOKIE not in user.http_client.cookies

    field(user, dialog(user, 'Join a call'), 'Your name').type('Grace')
    button(user, dialog(user, 'Join a call'), 'Join').click()
    await joined_from_the_invite(user, room, 'Grace')
    _, _, peer = ticket_of(user)
    await written_times(written, 1)
    remembered = Signer(get_settings().secret).loads(written[0])
    assert (remembered.name, remembered.peer(room)) == ('Grace', peer)


async def test_the_cookie_is_written_only_when_what_it_holds_changes(user: User) -> None:
    written = count_cookie_writes(user)
    room = await start_a_call(user, 'Ada')
    assert len(written) == 1
    await user.open(f'/call/{room}')  # a reload
    await user.open('/')
    button(user, user.current_layout, 'Change name').click()
    button(user, dialog(user, 'Your name'), 'Save').click()  # the same name
    await user.should_see('You are Ada')
    assert len(written) == 1
    field(user, dialog(user, 'Your name'), 'Your name').clear().type('Ada L.')
    button(user, dialog(user, 'Your name'), 'Save').click()
    await user.should_see('You are Ada L.')
    assert len(written) == 2


async def test_a_reload_after_joining_from_an_invite_keeps_the_seat_and_the_name(
        create_user: Callable[[], User]) -> None:
    grace = create_user()
    written = count_cookie_writes(grace)
    room = await new_room_via_api(grace)
    await grace.open(f'/dial/{room}')
    field(grace, dialog(grace, 'Join a call'), 'Your name').type('Grace')
    button(grace, dialog(grace, 'Join a call'), 'Join').click()
    await joined_from_the_invite(grace, room, 'Grace')
    seat = ticket_of(grace)
    await written_times(written, 1)  # Join does not wait for the cookie: the call starts first
    await grace.open(f'/call/{room}')
    assert ticket_of(grace) == seat
    # Another browser is someone else: asked for a name, with a seat of its own.
    bob = create_user()
    await bob.open(f'/call/{room}')
    await arrives_at(bob, f'/dial/{room}')


async def test_the_ring_preference_is_remembered(user: User) -> None:
    written = count_cookie_writes(user)
    room = await start_a_call(user, 'Ada')
    ring = next(iter(user.find(kind=ui.switch, content='Ring').elements))
    assert not ring.value
    ring.set_value(True)
    await written_times(written, 2)
    await user.open(f'/call/{room}')
    assert next(iter(user.find(kind=ui.switch, content='Ring').elements)).value
    assert next(iter(user.find(CallView).elements)).props['ring']


async def test_a_forged_cookie_counts_for_nothing(user: User) -> None:
    room = await new_room_via_api(user)
    forged = Signer('someone-elses-secret-0123456789').dumps(Memory('Mallory', peers=((room, new_peer_id()),)))
    user.http_client.cookies.set(COOKIE, forged)
    await user.open(f'/call/{room}')
    await arrives_at(user, f'/dial/{room}')
    assert not next(iter(field(user, dialog(user, 'Join a call'), 'Your name').elements)).value


# --- the cookie ---------------------------------------------------------------------------------

def test_only_the_last_rooms_are_kept() -> None:
    rooms = [new_room_id() for _ in range(ROOMS_KEPT + 3)]
    memory = Memory('Ada')
    for room in rooms:
        memory = memory.with_peer(room, new_peer_id())
    first_kept = memory.peer(rooms[3])
    memory = memory.with_peer(rooms[3], first_kept or '')  # coming back makes it the latest
    assert [room for room, _ in memory.peers] == [*rooms[4:], rooms[3]]
    assert memory.peer(rooms[0]) is None
    signer = Signer(SECRET)
    assert signer.loads(signer.dumps(memory)) == memory


def test_the_largest_cookie_fits_a_browser() -> None:
    """Browsers keep cookies up to 4096 bytes (name, value and attributes): the fullest one is far below."""
    memory = Memory('\U0001f600' * MAX_NAME, ring=True)
    for _ in range(ROOMS_KEPT):
        memory = memory.with_peer('r' * 64, 'p' * 64).with_peer(new_room_id() + 'x' * 42, new_peer_id() + 'y' * 53)
    value = Signer(SECRET).dumps(memory)
    assert len(f'{COOKIE}={value}; Path=/; Max-Age={MAX_AGE_SECONDS}; SameSite=Lax; Secure') < 2048


def test_an_old_cookie_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer(SECRET)
    fresh = signer.dumps(Memory('Ada'))
    time_now = time.time()
    with monkeypatch.context() as past:
        past.setattr(time, 'time', lambda: time_now - MAX_AGE_SECONDS - 60)
        old = signer.dumps(Memory('Ada'))
    assert signer.loads(fresh).name == 'Ada'
    assert signer.loads(old) == Memory()


@pytest.mark.parametrize(('data', 'kept'), [
    ({'n': 'Ada\x07', 'r': True, 'p': []}, ('', True, 0)),
    ({'n': 'A' * (MAX_NAME + 1), 'r': 'yes', 'p': []}, ('', False, 0)),
    ({'n': 'Ada', 'r': False, 'p': [['not a room', 'abcdefgh'], [new_room_id(), 'short'], [new_room_id()],
                                    [new_room_id(), 'abc<def>gh'], [new_room_id(), 'abcdefgh']]}, ('Ada', False, 1)),
    (['Ada'], ('', False, 0)),
], ids=['control character', 'long name and ring not a bool', 'bad entries', 'not an object'])
def test_what_is_malformed_is_dropped(data: object, kept: tuple[str, bool, int]) -> None:
    """Even signed (an older version's cookie, say), only what the pages themselves accept is used."""
    value = URLSafeTimedSerializer(SECRET, salt='skycall-browser').dumps(data)
    memory = Signer(SECRET).loads(value)
    assert (memory.name, memory.ring, len(memory.peers)) == kept
