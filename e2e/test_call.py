"""Two people call each other in real Chromium, with a fake camera and microphone."""

from __future__ import annotations

from playwright.sync_api import expect

from skycall.testing.call_steps import (
    answer,
    call_between,
    dial,
    expect_chat,
    expect_connected_to,
    invite_link,
    peer_connection_states,
    say,
    start_call,
)


def test_start_invite_and_talk(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')
    link = invite_link(ada.page)
    assert '/dial/' in link

    dial(grace.page, link, 'Grace')
    answer(ada.page, 'Grace')

    expect_connected_to(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')
    assert peer_connection_states(ada.page) == ['connected']
    assert peer_connection_states(grace.page) == ['connected']

    say(ada.page, 'Hello Grace')
    expect_chat(grace.page, 'Ada', 'Hello Grace')
    say(grace.page, 'Hi Ada')
    expect_chat(ada.page, 'Grace', 'Hi Ada')


def test_both_came_through_the_invite_link_and_chat_both_ways(person, server):
    room = server.new_room()
    ada, grace = person('Ada'), person('Grace')
    dial(ada.page, f'/dial/{room}', 'Ada')
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')
    dial(grace.page, f'/dial/{room}', 'Grace')
    answer(ada.page, 'Grace')

    expect_connected_to(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')
    say(grace.page, 'ping')
    expect_chat(ada.page, 'Grace', 'ping')
    say(ada.page, 'pong')
    expect_chat(grace.page, 'Ada', 'pong')
    expect_chat(ada.page, 'Ada', 'pong')  # the sender sees their own message too


def test_hang_up_reaches_the_other_side(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    ada.page.get_by_role('button', name='Hang up').click()

    ada.page.wait_for_url(lambda url: url.endswith('/'))
    expect(grace.page.get_by_text('Ada left the call')).to_be_visible()
    expect(grace.page.get_by_label('Camera of Ada')).to_have_count(0)
    expect(grace.page.get_by_role('status')).to_have_text('Waiting for others')
    assert peer_connection_states(grace.page) == []


def test_join_a_call_dialog_takes_a_pasted_link(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    link = invite_link(ada.page)

    grace.page.goto('/', wait_until='domcontentloaded')
    grace.page.get_by_role('button', name='Join a call').click()
    grace.page.get_by_label('Your name').fill('Grace')
    grace.page.get_by_label('Room ID or link').fill(link)
    grace.page.get_by_role('button', name='Join', exact=True).click()
    answer(ada.page, 'Grace')

    expect_connected_to(grace.page, 'Ada')
    expect_connected_to(ada.page, 'Grace')


def test_html_in_names_and_chat_is_shown_as_text(person):
    payload = '<img src=x onerror="window.pwned=1">'
    ada, grace = person('Ada'), person(payload)
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), payload)
    answer(ada.page, payload)
    expect_connected_to(ada.page, payload)

    say(grace.page, '</script><svg onload="window.pwned=2"><a href="javascript:window.pwned=3">x</a>')
    expect_chat(ada.page, payload, '</script><svg onload="window.pwned=2">')
    assert ada.page.evaluate('window.pwned') is None
    assert grace.page.evaluate('window.pwned') is None
    assert ada.page.locator('img[src="x"]').count() == 0


def test_a_room_that_does_not_exist_says_so(person):
    visitor = person('Visitor')
    visitor.page.goto('/dial/AAAAAAAAAAAAAAAAAAAAAA', wait_until='domcontentloaded')
    expect(visitor.page.get_by_text('This call does not exist or has ended.')).to_be_visible()
    visitor.page.get_by_role('button', name='Go home').click()
    expect(visitor.page.get_by_role('button', name='Start a call')).to_be_visible()


def test_both_sides_renegotiating_at_once_do_not_break_the_call(person):
    ada, grace = person('Ada'), person('Grace')
    call_between(ada.page, 'Ada', grace.page, 'Grace')

    # Both sides want a renegotiation at the same moment (an ICE restart on each): with naive
    # signaling two offers would cross here.
    restart = """() => [...document.querySelectorAll('.skycall-stage')].forEach((el) =>
        getElement(el.id.slice(1)).peers.forEach((entry) => entry.link.restartIce()))"""
    ufrags = """() => [...document.querySelectorAll('.skycall-stage')].flatMap((el) =>
        [...getElement(el.id.slice(1)).peers.values()].map((entry) =>
            entry.link.pc.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]))"""
    before = {'ada': ada.page.evaluate(ufrags), 'grace': grace.page.evaluate(ufrags)}
    ada.page.evaluate(restart)
    grace.page.evaluate(restart)

    # The ICE restart really happened (new credentials on both sides), and the call is still up.
    ada.page.wait_for_function(f'() => ({ufrags})()[0] !== {before["ada"][0]!r}')
    grace.page.wait_for_function(f'() => ({ufrags})()[0] !== {before["grace"][0]!r}')

    stable = """() => [...document.querySelectorAll('.skycall-stage')].every((el) =>
        [...getElement(el.id.slice(1)).peers.values()].every((entry) =>
            entry.link.pc.signalingState === 'stable' && entry.link.pc.connectionState === 'connected'))"""
    ada.page.wait_for_function(stable)
    grace.page.wait_for_function(stable)
    expect_connected_to(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')


def test_copy_link_puts_the_invite_on_the_clipboard(person):
    ada = person('Ada', permissions=['clipboard-read', 'clipboard-write'])
    room = start_call(ada.page, 'Ada')
    ada.page.get_by_role('button', name='Invite').click()
    ada.page.get_by_role('button', name='Copy link').click()
    expect(ada.page.get_by_text('Link copied')).to_be_visible()
    assert ada.page.evaluate('navigator.clipboard.readText()') == f'{ada.page.url.split("/call/")[0]}/dial/{room}'


def test_pages_download_no_font_and_no_tailwind_compiler(person):
    """The icons are inline SVG and the text uses the system font: no page of a call fetches a font file."""
    ada, grace = person('Ada'), person('Grace')
    fetched: list[str] = []
    for someone in (ada, grace):
        someone.page.on('request', lambda request: fetched.append(request.url))
    start_call(ada.page, 'Ada')
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')
    ada.page.get_by_role('button', name='Mute').click()
    expect(ada.page.get_by_role('button', name='Unmute').locator('svg')).to_be_visible()
    ada.page.get_by_role('button', name='Camera off').click()
    expect(ada.page.get_by_role('button', name='Camera on').locator('svg')).to_be_visible()
    ada.page.get_by_role('button', name='Camera on').click()

    dial(grace.page, invite_link(ada.page), 'Grace')  # the invite page, then a knock on Ada's page
    expect(ada.page.get_by_role('button', name='Answer').locator('svg')).to_be_visible()
    answer(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')
    for someone in (ada, grace):
        someone.page.evaluate('() => document.fonts.ready.then(() => true)')  # fonts the page asked for are in

    assert not [url for url in fetched if url.endswith(('.woff2', '.woff', '.ttf'))]
    assert not [url for url in fetched if 'tailwind' in url]
