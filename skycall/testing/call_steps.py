"""What people do in SkyCall, as steps the end-to-end tests are written in."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

ROOM_URL = re.compile(r'/call/([A-Za-z0-9_-]{22})$')


def start_call(page: Page, name: str) -> str:
    """From the home page: Start a call, type the name, land in the call. Returns the room id."""
    page.goto('/', wait_until='domcontentloaded')
    page.get_by_role('button', name='Start a call').click()
    page.get_by_label('Your name').fill(name)
    page.get_by_role('button', name='Start', exact=True).click()
    page.wait_for_url(ROOM_URL)
    match = ROOM_URL.search(page.url)
    assert match
    return match.group(1)


def invite_link(page: Page) -> str:
    page.get_by_role('button', name='Invite').click()
    link = page.get_by_label('Invite link').input_value()
    page.get_by_role('button', name='Close').click()
    return link


def dial(page: Page, link: str, name: str) -> None:
    """Open an invite link, give a name, enter the call."""
    page.goto(link, wait_until='domcontentloaded')
    page.get_by_label('Your name').fill(name)
    page.get_by_role('button', name='Join', exact=True).click()
    page.wait_for_url(ROOM_URL)


def answer(page: Page, caller: str) -> None:
    """Someone is calling: the popup names them; press Answer."""
    expect(page.get_by_text(f'{caller} wants to join')).to_be_visible()
    page.get_by_role('button', name='Answer').click()


def call_between(host: Page, host_name: str, guest: Page, guest_name: str) -> str:
    """host starts a call, guest dials the invite link, host answers; both see each other. Returns the room."""
    room = start_call(host, host_name)
    dial(guest, invite_link(host), guest_name)
    answer(host, guest_name)
    expect_connected_to(host, guest_name)
    expect_connected_to(guest, host_name)
    return room


def expect_connected_to(page: Page, other: str) -> None:
    """The call is up: the status says so and the other person's video decodes frames."""
    expect(page.get_by_role('status')).to_have_text('Connected', timeout=20_000)
    video = page.get_by_label(f'Camera of {other}')
    expect(video).to_be_visible()
    handle = video.element_handle()
    page.wait_for_function('(video) => video.videoWidth > 0 && video.currentTime > 0', arg=handle, timeout=20_000)
    decoded = page.evaluate('(video) => video.getVideoPlaybackQuality().totalVideoFrames', handle)
    page.wait_for_function('([video, before]) => video.getVideoPlaybackQuality().totalVideoFrames > before + 2',
                           arg=[handle, decoded], timeout=20_000)


def peer_connection_states(page: Page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('.skycall-stage')]
        .flatMap((el) => [...getElement(el.id.slice(1)).peers.values()].map((p) => p.link.pc.connectionState))""")


def say(page: Page, text: str) -> None:
    page.get_by_label('Message', exact=True).fill(text)
    page.get_by_role('button', name='Send').click()
    expect(page.get_by_label('Message', exact=True)).to_have_value('')


def expect_chat(page: Page, sender: str, text: str) -> None:
    message = page.locator('.q-message').filter(has_text=text)
    expect(message).to_be_visible()
    expect(message.locator('.q-message-name')).to_have_text(sender)
