"""A join the server never answers ends in a clear message, not a page that waits forever."""

from __future__ import annotations

import re

from playwright.sync_api import WebSocketRoute, expect

from skycall.testing.call_steps import invite_link, start_call

JOIN = re.compile(r'^42\d*\["join"')  # socket.io's frame for an emit of "join" with an acknowledgement


def test_a_join_that_gets_no_answer_says_so(person):
    ada, grace = person('Ada'), person('Grace')
    start_call(ada.page, 'Ada')
    link = invite_link(ada.page)

    def swallow_joins(ws: WebSocketRoute) -> None:
        """Grace's signaling socket reaches the server, except her join, which is lost on the way."""
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if not (isinstance(message, str) and JOIN.match(message)):
                server.send(message)

        ws.on_message(to_server)

    grace.page.route_web_socket(re.compile(r'/signal/socket\.io/'), swallow_joins)
    grace.page.goto(link, wait_until='domcontentloaded')
    grace.page.get_by_label('Your name').fill('Grace')
    grace.page.get_by_role('button', name='Join', exact=True).click()

    expect(grace.page.get_by_text('The call service did not answer. Reload the page to try again.')) \
        .to_be_visible(timeout=20_000)
    expect(grace.page.get_by_role('status')).to_have_text('Not in the call')
