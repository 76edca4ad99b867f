"""Nobody answers: the caller gives up after the ring timeout (2 s here instead of 30) and goes home."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from skycall.testing.call_steps import dial, invite_link, start_call
from skycall.testing.processes import SkyCallProcess


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallProcess]:
    server = SkyCallProcess(ring_timeout_seconds='2').start()
    yield server
    server.stop()


def test_nobody_answers(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    dial(grace.page, invite_link(ada.page), 'Grace')
    expect(ada.page.get_by_text('Grace wants to join')).to_be_visible()

    expect(grace.page.get_by_text('No answer', exact=True)).to_be_visible(timeout=10_000)
    expect(grace.page.get_by_text('Nobody answered your call.')).to_be_visible()
    expect(ada.page.get_by_text('Grace wants to join')).to_be_hidden()  # the ringing stopped
    grace.page.wait_for_url(re.compile(r'/$'), timeout=15_000)
    expect(grace.page.get_by_role('button', name='Start a call')).to_be_visible()
