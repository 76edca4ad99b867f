"""The whole life of a call, as people live it: ringing, answering, declining, leaving, coming back."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from skycall.testing.call_steps import (
    answer,
    call_between,
    dial,
    expect_chat,
    expect_connected_to,
    invite_link,
    say,
    start_call,
)

HOME = re.compile(r'/$')


def test_the_caller_waits_with_their_own_camera_until_answered(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')

    calling = grace.page.get_by_text('Waiting for someone in the call to answer.')
    expect(calling).to_be_visible()
    expect(grace.page.get_by_role('button', name='Cancel')).to_be_visible()
    grace.page.wait_for_function("() => document.querySelector('[aria-label=\"Your camera\"]').videoWidth > 0")
    expect(grace.page.get_by_role('status')).to_have_text('Calling…')

    answer(ada.page, 'Grace')
    expect(calling).to_be_hidden()
    expect_connected_to(grace.page, 'Ada')
    expect_connected_to(ada.page, 'Grace')


def test_a_declined_caller_counts_down_to_home(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')

    expect(ada.page.get_by_text('Grace wants to join')).to_be_visible()
    ada.page.get_by_role('button', name='Decline').click()

    expect(grace.page.get_by_text('Call declined')).to_be_visible()
    expect(grace.page.get_by_text('Ada declined your call.')).to_be_visible()
    expect(grace.page.get_by_role('progressbar')).to_be_visible()
    grace.page.wait_for_url(HOME)
    expect(grace.page.get_by_role('button', name='Start a call')).to_be_visible()
    expect(ada.page.get_by_text('Grace wants to join')).to_be_hidden()
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')


def test_a_caller_who_cancels_stops_the_ringing(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')
    expect(ada.page.get_by_text('Grace wants to join')).to_be_visible()

    grace.page.get_by_role('button', name='Cancel').click()

    expect(ada.page.get_by_text('Grace wants to join')).to_be_hidden()
    expect(grace.page.get_by_text('Call cancelled')).to_be_visible()
    grace.page.get_by_role('button', name='Go home now').click()
    grace.page.wait_for_url(HOME)


def test_the_other_side_is_told_and_cleaned_up_after_a_hang_up(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    grace.page.get_by_role('button', name='Hang up').click()

    expect(ada.page.get_by_text('Grace left the call')).to_be_visible()
    expect(ada.page.get_by_label('Camera of Grace')).to_have_count(0)
    expect(ada.page.locator('.skycall-tile')).to_have_count(0)
    expect(ada.page.get_by_text('Call ended', exact=True).first).to_be_visible()
    bar = ada.page.get_by_role('progressbar')
    expect(ada.page.get_by_text('Going home in 18 s')).to_be_visible()
    width = bar.bounding_box()['width']
    expect(ada.page.get_by_text('Going home in 16 s')).to_be_visible()
    assert bar.bounding_box()['width'] == width  # the bar keeps its width while the text counts down

    ada.page.get_by_role('button', name='Stay in this room').click()
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')
    expect(ada.page.get_by_role('progressbar')).to_be_hidden()
    assert '/call/' in ada.page.url


def test_a_closed_tab_is_noticed_at_once(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    grace.page.close()

    expect(ada.page.get_by_text('Grace left the call')).to_be_visible()
    expect(ada.page.get_by_label('Camera of Grace')).to_have_count(0)


def test_a_browser_that_vanishes_is_noticed_within_ten_seconds(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    # Grace's page stops dead (as a phone that sleeps or loses its network would): its socket stays
    # open but answers no ping, and it never says goodbye.
    session = grace.context.new_cdp_session(grace.page)
    session.send('Debugger.enable')
    session.send('Debugger.pause')

    expect(ada.page.get_by_text('Grace left the call')).to_be_visible(timeout=10_000)
    expect(ada.page.get_by_label('Camera of Grace')).to_have_count(0)
    session.send('Debugger.resume')


def test_a_new_call_after_a_call_ended_works(person):
    ada, grace, carol = person('Ada'), person('Grace'), person('Carol')
    call_between(ada.page, 'Ada', grace.page, 'Grace')
    grace.page.get_by_role('button', name='Hang up').click()
    ada.page.get_by_role('button', name='Go home now').click()
    ada.page.wait_for_url(HOME)

    call_between(ada.page, 'Ada', carol.page, 'Carol')
    say(carol.page, 'Hello again')
    expect_chat(ada.page, 'Carol', 'Hello again')


def test_a_reload_mid_call_comes_back_without_a_ghost(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    grace.page.reload(wait_until='domcontentloaded')

    expect_connected_to(grace.page, 'Ada')  # no knock: Grace was let in before
    expect_connected_to(ada.page, 'Grace')
    expect(ada.page.locator('.skycall-tile')).to_have_count(1)
    expect(ada.page.get_by_label('Camera of Grace')).to_have_count(1)
    say(grace.page, 'I am back')
    expect_chat(ada.page, 'Grace', 'I am back')


def test_unread_messages_are_counted_while_the_chat_is_closed(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')
    ada.page.get_by_role('button', name='Chat').click()
    expect(ada.page.get_by_label('Message', exact=True)).to_be_hidden()

    say(grace.page, 'first message for you')
    say(grace.page, 'second message for you')

    badge = ada.page.get_by_label('Unread', exact=True)
    expect(badge).to_have_text('2')
    expect(ada.page.get_by_text('Grace: second message for you')).to_be_visible()
    ada.page.get_by_role('button', name='Chat').click()
    expect(badge).to_be_hidden()
    expect_chat(ada.page, 'Grace', 'second message for you')


def test_new_messages_button_when_scrolled_up(person):
    ada, grace = person('Ada', viewport={'width': 1280, 'height': 520}), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')
    for i in range(8):
        say(grace.page, f'line {i}')
    expect_chat(ada.page, 'Grace', 'line 7')
    ada.page.locator('.skycall-chat .q-scrollarea__container').evaluate('(el) => el.scrollTo(0, 0)')

    say(grace.page, 'the newest one')

    jump = ada.page.get_by_role('button', name='New messages')
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    expect(ada.page.locator('.q-message').filter(has_text='the newest one')).to_be_in_viewport()


def test_mute_and_camera_off_are_seen_by_the_other_side(person):
    ada, grace = person('Ada Lovelace'), person('Grace')
    call_between(ada.page, 'Ada Lovelace', grace.page, 'Grace')

    ada.page.get_by_role('button', name='Mute').click()
    expect(ada.page.get_by_role('button', name='Unmute')).to_be_visible()
    expect(grace.page.get_by_label('Ada Lovelace is muted')).to_be_visible()

    ada.page.get_by_role('button', name='Camera off').click()
    expect(ada.page.get_by_role('button', name='Camera on')).to_be_visible()
    expect(grace.page.get_by_text('AL', exact=True)).to_be_visible()
    expect(grace.page.get_by_label('Camera of Ada Lovelace')).to_be_hidden()

    ada.page.get_by_role('button', name='Unmute').click()
    ada.page.get_by_role('button', name='Camera on').click()
    expect(grace.page.get_by_label('Ada Lovelace is muted')).to_be_hidden()
    expect(grace.page.get_by_label('Camera of Ada Lovelace')).to_be_visible()


def test_a_third_person_is_told_the_call_is_full(person):
    ada, grace, carol = person('Ada'), person('Grace'), person('Carol')
    call_between(ada.page, 'Ada', grace.page, 'Grace')
    link = invite_link(ada.page)

    carol.page.goto(link)  # told at once, before typing a name or turning on a camera

    expect(carol.page.get_by_text('This call is full.')).to_be_visible()
    expect(carol.page.get_by_label('Your name')).to_have_count(0)
    carol.page.get_by_role('button', name='Go home').click()
    carol.page.wait_for_url(HOME)
    expect_connected_to(ada.page, 'Grace')


def test_refused_camera_still_allows_the_call_and_chat(person, browser_without_media):
    ada, grace = person('Ada'), person('Grace', in_browser=browser_without_media)
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')

    expect(grace.page.get_by_text(re.compile('SkyCall may not use your camera and microphone'))).to_be_visible()
    answer(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')  # Grace still sees and hears Ada
    expect(ada.page.get_by_text('G', exact=True)).to_be_visible()  # Ada sees Grace's initials
    expect(grace.page.get_by_role('button', name='Camera on')).to_be_disabled()
    expect(grace.page.get_by_role('button', name='Unmute')).to_be_disabled()
    say(grace.page, 'I can only type')
    expect_chat(ada.page, 'Grace', 'I can only type')


def test_on_a_phone_everything_fits_on_the_screen(person):
    size = {'width': 390, 'height': 844}
    ada = person('Ada', viewport=size, is_mobile=True, has_touch=True)
    grace = person('Grace')
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')
    answer(ada.page, 'Grace')
    expect_connected_to(ada.page, 'Grace')

    def inside(locator):
        box = locator.bounding_box()
        assert box is not None
        assert box['x'] >= 0 and box['y'] >= 0, box
        assert box['x'] + box['width'] <= size['width'] + 0.5 and box['y'] + box['height'] <= size['height'] + 0.5, box
        return box

    for name in ('Mute', 'Camera off', 'Chat', 'Invite', 'Hang up'):
        assert inside(ada.page.get_by_role('button', name=name))['height'] >= 40  # big enough to tap
    expect(ada.page.get_by_label('Message', exact=True)).to_be_hidden()  # chat is a sheet, closed

    ada.page.get_by_role('button', name='Invite').click()
    inside(ada.page.locator('.q-dialog .q-card'))
    inside(ada.page.get_by_role('button', name='Copy link'))
    ada.page.get_by_role('button', name='Close').click()

    ada.page.get_by_role('button', name='Chat').click()
    sheet = inside(ada.page.locator('.skycall-chat'))
    assert sheet['width'] >= size['width'] - 1 and sheet['height'] >= size['height'] - 1  # full screen
    inside(ada.page.get_by_role('button', name='Send'))


def test_a_reload_shows_the_earlier_chat_once_in_order(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')
    say(ada.page, 'one')
    say(grace.page, 'two')
    expect_chat(grace.page, 'Ada', 'one')

    grace.page.reload(wait_until='domcontentloaded')

    expect_chat(grace.page, 'Grace', 'two')
    texts = grace.page.locator('.q-message-text-content').all_inner_texts()
    assert [text.splitlines()[0] for text in texts] == ['one', 'two']  # each once, in order (the time follows)
