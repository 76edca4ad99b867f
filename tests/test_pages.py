"""The pages as a person uses them, through NiceGUI's simulated user (in-process, no browser, no JS)."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from skycall.components.call_view import JOIN_REFUSALS, CallView
from skycall.config import get_settings
from skycall.errors import MESSAGES
from skycall.pages.call import show_call_full
from skycall.protocol import MAX_CHAT, new_room_id
from skycall.tickets import TicketMint

ROOM_PATH = re.compile(r'/call/([A-Za-z0-9_-]{22})')
NOT_FOUND = 'This call does not exist or has ended.'
XSS = '<img src=x onerror=alert(1)>'
T = TypeVar('T', bound=ui.element)
WAIT = 5.0  # seconds for a navigation to complete


# --- what a person does -------------------------------------------------------------------------

def dialog(user: User, title: str) -> ui.dialog:
    """The one dialog whose heading is ``title`` (open or not)."""
    found = [d for d in user.find(kind=ui.dialog).elements
             if any(isinstance(e, ui.label) and e.text == title for e in d.descendants())]
    assert len(found) == 1, f'expected one dialog titled {title!r}, found {len(found)}'
    return found[0]


def field(user: User, where: ui.element, label: str) -> UserInteraction[ui.input]:
    inputs = [e for e in where.descendants() if isinstance(e, ui.input) and e.props.get('label') == label]
    assert len(inputs) == 1, f'expected one input labelled {label!r}, found {len(inputs)}'
    return UserInteraction(user, set(inputs), label)


def button(user: User, where: ui.element, text: str) -> UserInteraction[ui.button]:
    buttons = [e for e in where.descendants() if isinstance(e, ui.button) and e.text == text]
    assert len(buttons) == 1, f'expected one button {text!r}, found {len(buttons)}'
    return UserInteraction(user, set(buttons), text)


def only(interaction: UserInteraction[T]) -> T:
    """The one element a ``find`` (or a helper above) selected."""
    assert len(interaction.elements) == 1
    return next(iter(interaction.elements))


async def arrives_at(user: User, path: str | re.Pattern[str]) -> str:
    """Wait until the simulated browser has navigated to ``path``; return where it is."""
    pattern = path if isinstance(path, re.Pattern) else re.compile(re.escape(path))
    deadline = time.monotonic() + WAIT
    while not (user.back_history and pattern.fullmatch(user.back_history[-1])):
        assert time.monotonic() < deadline, f'still at {user.back_history[-1:]} instead of {pattern.pattern}'
        await asyncio.sleep(0.02)
    await user.should_see(kind=ui.button)  # the page is rendered
    return user.back_history[-1]


async def start_a_call(user: User, name: str) -> str:
    """From the home page: "Start a call", type a name, "Start". Returns the new room id."""
    await user.open('/')
    button(user, user.current_layout, 'Start a call').click()
    start = dialog(user, 'Start a call')
    assert start.value, 'the dialog opened'
    field(user, start, 'Your name').clear().type(name)
    button(user, start, 'Start').click()
    match = ROOM_PATH.fullmatch(await arrives_at(user, ROOM_PATH))
    assert match
    return match.group(1)


async def new_room_via_api(user: User) -> str:
    response = await user.http_client.post('/api/rooms')
    assert response.status_code == 201
    return response.json()['room']


# --- the home page ------------------------------------------------------------------------------

async def test_home_offers_to_start_or_join_a_call(user: User) -> None:
    await user.open('/')
    await user.should_see('SkyCall')
    await user.should_see(kind=ui.button, content='Start a call')
    await user.should_see(kind=ui.button, content='Join a call')
    await user.should_not_see('You are')


async def test_starting_a_call_leads_to_its_page(user: User) -> None:
    room = await start_a_call(user, 'Ada')
    assert user.back_history == ['/', f'/call/{room}']
    await user.should_see('Hang up')
    await user.should_see('Invite')
    await user.should_see('Chat')
    # The invite link names this room on this server.
    button(user, user.current_layout, 'Invite').click()
    invite = only(field(user, dialog(user, 'Invite someone'), 'Invite link'))
    assert invite.value == f'http://test/dial/{room}'
    # The browser side is handed a signed ticket for this room, in Ada's name.
    ticket = TicketMint(get_settings().secret, 60).check(only(user.find(CallView)).props['ticket'])
    assert (ticket.room, ticket.name) == (room, 'Ada')


@pytest.mark.parametrize(('name', 'complaint'), [
    ('', 'Please type your name.'),
    ('   ', 'Please type your name.'),
    ('Ada\x07', 'Please use letters, digits and punctuation only.'),
    ('Ada\u2028Lovelace', 'Please use letters, digits and punctuation only.'),
    ('\u202eAda', 'Please leave out invisible formatting characters (direction marks, zero-width spaces).'),
    ('\u3164', 'Please type a name that can be seen.'),
], ids=['empty', 'blank', 'control character', 'line separator', 'right-to-left override', 'blank letter'])
async def test_starting_a_call_needs_a_proper_name(user: User, name: str, complaint: str) -> None:
    await user.open('/')
    button(user, user.current_layout, 'Start a call').click()
    start = dialog(user, 'Start a call')
    field(user, start, 'Your name').type(name)
    button(user, start, 'Start').click()
    await user.should_see(complaint)
    assert user.back_history == ['/']


async def test_the_name_is_remembered(user: User) -> None:
    await start_a_call(user, 'Ada')
    await user.open('/')
    await user.should_see('You are Ada')


async def test_a_name_with_html_is_shown_as_text(user: User) -> None:
    await start_a_call(user, XSS)
    await user.open('/')
    await user.should_see(f'You are {XSS}')
    label = only(user.find(f'You are {XSS}'))
    assert type(label) is ui.label
    # Nothing on the page renders markup from it.
    for element in user.find(kind=ui.element).elements:
        if isinstance(element, (ui.html, ui.markdown)):
            assert 'onerror' not in element.content


async def test_a_name_in_a_notification_is_escaped_text_isolated_from_the_words_around_it(user: User) -> None:
    """Notifications are HTML (Quasar's only way to put a name in a <bdi>): the name is escaped, never markup."""
    await start_a_call(user, 'Ada')
    view = user.find(CallView)
    view.trigger('peerJoined', {'id': 'p1', 'name': f'<b>{XSS}</b>'})
    await notified(user, f'<bdi>{html.escape(f"<b>{XSS}</b>")}</bdi> joined the call')
    view.trigger('peerLeft', {'id': 'p1', 'name': 'שרה & Co', 'reason': 'left', 'known': False, 'remaining': 1})
    await notified(user, '<bdi>שרה &amp; Co</bdi> left the call')
    button(user, user.current_layout, 'Chat').click()  # closed: a message arrives as a notification
    view.trigger('chat', {'id': 'm1', 'from': 'p1', 'name': 'Grace', 'text': '<i>hi</i> & bye', 'ts': 1,
                          'time': '14:20'})
    await notified(user, '<bdi>Grace</bdi>: &lt;i&gt;hi&lt;/i&gt; &amp; bye')


async def test_chat_is_shown_as_text(user: User) -> None:
    await start_a_call(user, 'Ada')
    view = only(user.find(CallView))
    me = TicketMint(get_settings().secret, 60).check(view.props['ticket']).peer
    # What the browser side emits when chat messages arrive from the signaling server.
    user.find(CallView).trigger('chat', {'id': 'm1', 'from': 'p0Qm2Lx8aZw', 'name': f'<b>{XSS}</b>',
                                         'text': f'Look: {XSS} </script><script>alert(2)</script>',
                                         'ts': 1764078000.1, 'time': '14:20'})
    user.find(CallView).trigger('chat', {'id': 'm2', 'from': me, 'name': 'Ada', 'text': 'Hi',
                                         'ts': 1764078001.1, 'time': '14:21'})
    await user.should_see(kind=ui.chat_message)
    theirs, mine = sorted(user.find(kind=ui.chat_message).elements, key=lambda e: e.id)
    assert theirs.props['name'] == f'<b>{XSS}</b>'  # a text prop: Quasar shows it as text
    assert 'name-html' not in theirs.props and 'text-html' not in theirs.props
    (body,) = [e for e in theirs.descendants() if isinstance(e, ui.html)]
    assert body.content == html.escape(f'Look: {XSS} </script><script>alert(2)</script>')
    assert (theirs.props['stamp'], theirs.props['sent']) == ('14:20', False)
    assert (mine.props['name'], mine.props['stamp'], mine.props['sent']) == ('Ada', '14:21', True)


async def test_a_refused_join_is_said_once_in_a_dialog(user: User) -> None:
    """The call filled up between opening the invite and pressing Join: one dialog, no second notification."""
    await start_a_call(user, 'Ada')
    full = 'This call is full.'
    # What the browser side emits when the server refuses the join: the error event, then join-failed.
    user.find(CallView).trigger('error', {'code': 'room-full', 'message': full})
    user.find(CallView).trigger('joinFailed', {'code': 'room-full', 'message': full})
    await user.should_see(full)
    assert dialog(user, full).value
    assert not user.notify.contains(full)


# --- joining from the home page -----------------------------------------------------------------

async def test_joining_with_a_pasted_invite_link(create_user: Callable[[], User]) -> None:
    ada, bob = create_user(), create_user()
    room = await start_a_call(ada, 'Ada')
    button(ada, ada.current_layout, 'Invite').click()
    link = only(field(ada, dialog(ada, 'Invite someone'), 'Invite link')).value

    await bob.open('/')
    button(bob, bob.current_layout, 'Join a call').click()
    join = dialog(bob, 'Join a call')
    assert join.value, 'the dialog opened'
    field(bob, join, 'Your name').type('Bob')
    field(bob, join, 'Room ID or link').type(f'  {link}/ ')
    button(bob, join, 'Join').click()
    await arrives_at(bob, f'/call/{room}')
    await bob.should_see('Hang up')


async def test_joining_with_a_bare_room_id(user: User) -> None:
    room = await new_room_via_api(user)
    await user.open('/')
    join = dialog(user, 'Join a call')
    field(user, join, 'Your name').type('Grace')
    field(user, join, 'Room ID or link').type(room)
    button(user, join, 'Join').click()
    await arrives_at(user, f'/call/{room}')


@pytest.mark.parametrize('reference', [f'http://test/dial/{new_room_id()}', new_room_id()],
                         ids=['link', 'bare id'])
async def test_joining_a_call_that_does_not_exist(user: User, reference: str) -> None:
    await user.open('/')
    button(user, user.current_layout, 'Join a call').click()
    join = dialog(user, 'Join a call')
    field(user, join, 'Your name').type('Bob')
    field(user, join, 'Room ID or link').type(reference)
    button(user, join, 'Join').click()
    await user.should_see(NOT_FOUND)
    assert user.back_history == ['/']


async def test_joining_with_something_that_is_not_a_link(user: User) -> None:
    await user.open('/')
    join = dialog(user, 'Join a call')
    field(user, join, 'Your name').type('Bob')
    field(user, join, 'Room ID or link').type('my meeting')
    button(user, join, 'Join').click()
    await user.should_see('Paste an invite link or a room ID.')
    assert user.back_history == ['/']


# --- invite links and call pages ----------------------------------------------------------------

@pytest.mark.parametrize('path', [f'/dial/{new_room_id()}', f'/call/{new_room_id()}', '/call/not-a-room',
                                  '/dial/x', '/call/' + 'a' * 65, '/dial/%3Cscript%3E'],
                         ids=['dial missing', 'call missing', 'call malformed', 'dial short', 'call long',
                              'dial markup'])
async def test_a_link_to_no_call_says_so_and_leads_home(user: User, path: str) -> None:
    await user.open(path)
    await user.should_see(NOT_FOUND)
    await user.should_not_see('Hang up')
    button(user, user.current_layout, 'Go home').click()
    await arrives_at(user, '/')
    await user.should_see('Start a call')


async def test_an_invite_link_asks_a_new_person_for_their_name(user: User) -> None:
    room = await new_room_via_api(user)
    await user.open(f'/dial/{room}')
    join = dialog(user, 'Join a call')
    assert join.value, 'the dialog is open'
    assert not only(user.find(CallView)).props['ticket'], 'behind the dialog: a preview, not yet in the call'
    name = field(user, join, 'Your name')
    assert not only(name).value
    button(user, join, 'Join').click()
    await user.should_see('Please type your name.')
    name.type('Grace')
    button(user, join, 'Join').click()
    await joined_from_the_invite(user, room, 'Grace')


async def joined_from_the_invite(user: User, room: str, name: str) -> None:
    """The invite page is the call page behind the name dialog: Join closes it and hands over a ticket."""
    deadline = time.monotonic() + WAIT
    while not only(user.find(CallView)).props['ticket']:
        assert time.monotonic() < deadline, 'Join gave the call no ticket'
        await asyncio.sleep(0.02)
    ticket = TicketMint(get_settings().secret, 60).check(only(user.find(CallView)).props['ticket'])
    assert (ticket.room, ticket.name) == (room, name)
    assert not [d for d in user.find(kind=ui.dialog).elements
                if any(isinstance(e, ui.label) and e.text == 'Join a call' for e in d.descendants())], \
        'the name dialog is gone'
    await user.should_see('Hang up')


async def test_an_invite_link_knows_a_returning_person(user: User) -> None:
    await start_a_call(user, 'Ada')
    room = await new_room_via_api(user)
    await user.open(f'/dial/{room}')
    join = dialog(user, 'Join a call')
    assert join.value
    assert only(field(user, join, 'Your name')).value == 'Ada'
    button(user, join, 'Join').click()
    await joined_from_the_invite(user, room, 'Ada')


async def test_a_call_page_without_a_name_sends_the_person_to_the_invite(user: User) -> None:
    room = await new_room_via_api(user)
    await user.open(f'/call/{room}')
    await arrives_at(user, f'/dial/{room}')
    assert dialog(user, 'Join a call').value


async def test_the_same_browser_keeps_its_peer_id_in_a_room(user: User) -> None:
    """A reload takes over its own seat instead of leaving a ghost behind."""
    room = await start_a_call(user, 'Ada')
    first = only(user.find(CallView)).props['ticket']
    await user.open(f'/call/{room}')
    second = only(user.find(CallView)).props['ticket']
    mint = TicketMint(get_settings().secret, 60)
    assert mint.check(first) == mint.check(second)
    assert mint.check(first).room == room and mint.check(first).name == 'Ada'


@pytest.mark.parametrize('path', ['/', f'/dial/{new_room_id()}'])
async def test_pages_are_served_with_a_content_security_policy(user: User, path: str) -> None:
    """SECURITY.md #4: should markup ever slip through, it can neither load from nor send to elsewhere."""
    response = await user.http_client.get(path)
    assert response.status_code == 200
    policy = {directive.split()[0]: directive.split()[1:]
              for directive in response.headers.get('content-security-policy', '').split(';') if directive.strip()}
    assert policy.get('default-src') == ["'self'"]
    assert policy.get('connect-src') == ["'self'"]
    assert policy.get('frame-ancestors') == ["'none'"]


# --- the CallView boundary: what the browser reports is parsed and bounded once --------------------

async def notified(user: User, text: str) -> None:
    """Wait until a notification says exactly ``text``."""
    deadline = time.monotonic() + WAIT
    while text not in user.notify.messages:
        assert time.monotonic() < deadline, f'no notification {text!r} among {user.notify.messages}'
        await asyncio.sleep(0.02)


async def test_what_the_browser_reports_is_bounded(user: User) -> None:
    """The browser is untrusted for Python too: over-long or mistyped fields never reach the page as such."""
    await start_a_call(user, 'Ada')
    view = user.find(CallView)
    view.trigger('peerJoined', {'id': 'p1', 'name': 'G' * 5000})
    await notified(user, f'<bdi>{"G" * 64}</bdi> joined the call')
    assert not [m for m in user.notify.messages if 'G' * 65 in m]
    view.trigger('chat', {'id': ['m1'], 'from': {'x': 1}, 'name': 'Grace', 'text': 'y' * 9000, 'ts': 1, 'time': 7})
    await user.should_see(kind=ui.chat_message)
    (message,) = user.find(kind=ui.chat_message).elements
    assert (message.props['name'], message.props['stamp'], message.props['sent']) == ('Grace', '', False)
    (body,) = [e for e in message.descendants() if isinstance(e, ui.html)]
    assert body.content == 'y' * MAX_CHAT
    # Not even a dict: the media buttons go off rather than trusting it.
    view.trigger('media', 'audio video')
    mute = only(user.find(kind=ui.button, content='Unmute'))
    assert not mute.enabled


async def test_a_join_without_an_answer_is_said(user: User) -> None:
    await start_a_call(user, 'Ada')
    message = 'The call service did not answer. Reload the page to try again.'
    user.find(CallView).trigger('joinFailed', {'ok': False, 'code': 'timeout', 'message': message})
    await notified(user, message)


async def test_an_error_without_a_message_says_what_errors_py_says(user: User) -> None:
    await start_a_call(user, 'Ada')
    user.find(CallView).trigger('error', {'code': 'rate-limited'})
    await notified(user, MESSAGES['rate-limited'])


def test_the_refusals_the_browser_stops_at_are_error_codes() -> None:
    assert set(JOIN_REFUSALS) <= set(MESSAGES)
    assert {'room-full', 'no-such-room', 'bad-ticket'} == set(JOIN_REFUSALS)


@pytest.mark.parametrize(('seats', 'says'), [(2, 'Only 2 people fit in a call.'), (5, 'Only 5 people fit in a call.')])
async def test_a_full_call_says_how_many_fit(user: User, seats: int, says: str) -> None:
    @ui.page(f'/test-full-{seats}')
    def full_page() -> None:
        show_call_full(seats)

    await user.open(f'/test-full-{seats}')
    await user.should_see(MESSAGES['room-full'])
    await user.should_see(says)
