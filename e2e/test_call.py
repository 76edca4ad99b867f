"""Two people call each other in real Chromium, with a fake camera and microphone."""

from __future__ import annotations

from playwright.sync_api import expect

from .call_steps import dial, expect_chat, expect_connected_to, invite_link, peer_connection_states, say, start_call


def test_start_invite_and_talk(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    expect(ada.page.get_by_role('status')).to_have_text('Waiting for others')
    link = invite_link(ada.page)
    assert '/dial/' in link

    dial(grace.page, link, 'Grace')

    expect_connected_to(ada.page, 'Grace')
    expect_connected_to(grace.page, 'Ada')
    assert peer_connection_states(ada.page) == ['connected']
    assert peer_connection_states(grace.page) == ['connected']

    say(ada.page, 'Hello Grace')
    expect_chat(grace.page, 'Ada', 'Hello Grace')
    say(grace.page, 'Hi Ada')
    expect_chat(ada.page, 'Grace', 'Hi Ada')
