"""How the call page shows the end of a knock the server decided (NiceGUI's simulated user, no browser).

The element reports what the server said (call_view.js): ``no-answer`` when the server ended our knock at
its ring timeout, ``admitted`` with ``empty`` when it let us in because nobody was left to answer.
"""

from __future__ import annotations

from nicegui.testing import User

from skycall.components.call_view import CallView
from tests.test_pages import notified, start_a_call


async def test_a_knock_nobody_answered_says_so(user: User) -> None:
    await start_a_call(user, 'Grace')
    view = user.find(CallView)
    view.trigger('waiting', {})
    await user.should_see('Waiting for someone in the call to answer.')
    view.trigger('noAnswer', {})
    await user.should_see('Nobody answered your call.')
    await user.should_not_see('Waiting for someone in the call to answer.')


async def test_a_knock_let_in_by_an_empty_room_says_nobody_else_is_here(user: User) -> None:
    await start_a_call(user, 'Grace')
    view = user.find(CallView)
    view.trigger('waiting', {})
    view.trigger('admitted', {'empty': True})
    await notified(user, 'Nobody else is here yet: the others left before answering.')


async def test_a_knock_let_in_by_a_member_needs_no_word(user: User) -> None:
    await start_a_call(user, 'Grace')
    view = user.find(CallView)
    view.trigger('admitted', {'empty': 'yes'})  # only true is true
    view.trigger('peerJoined', {'id': 'p1', 'name': 'Ada'})  # a later notification
    await notified(user, '<bdi>Ada</bdi> joined the call')
    assert not any('Nobody else' in message for message in user.notify.messages)
