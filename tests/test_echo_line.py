"""The echo test line's seats, against a real server: page views opened by a script (no browser, no
media) cannot keep others out, one address has one session, and a person whose media flows keeps theirs.

The "person" here is either nothing (a script that opens /echo and NiceGUI's websocket, as an
attacker would) or a Python bot that joins with the page's own ticket and sends a test pattern.
The echo peer and the bot reach each other only over this machine's loopback and private
addresses, so the server runs with SKYCALL_ALLOW_PRIVATE_CANDIDATES on.
"""

from __future__ import annotations

import ast
import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import pytest
import socketio
from aiortc import MediaStreamTrack

from skycall.bot.client import Bot
from skycall.bot.pattern import SyntheticMedia
from skycall.echo.line import ARRIVAL_SECONDS
from skycall.testing.net import new_address
from skycall.testing.processes import SkyCallProcess
from skycall.tickets import TicketMint

SECRET = 'echo-line-tests-secret-0123456789'
BUSY = 'The test line is busy, try again in a minute'
IN_CALL = 'You should see and hear yourself'
ENDED = 'The test call has ended'
FAILED = 'The test call failed'
WAIT = 20.0
_QUERY = re.compile(r'query: (\{.*?\}),')


class PageView:
    """``GET /echo`` and NiceGUI's websocket from one address: all a script needs to open a session."""

    def __init__(self, url: str, address: str) -> None:
        self.url = url
        self.address = address
        self.texts: set[str] = set()
        self.props: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.sio: socketio.AsyncClient | None = None

    async def open(self) -> PageView:
        async with httpx.AsyncClient(base_url=self.url, timeout=5, trust_env=False,
                                     transport=httpx.AsyncHTTPTransport(local_address=self.address)) as http:
            page = (await http.get('/echo')).text
        if BUSY in page:
            self.texts.add(BUSY)
            return self
        match = _QUERY.search(page)
        assert match, page[:2000]
        query = {**ast.literal_eval(match.group(1)), 'tab_id': new_address(), 'document_id': new_address()}
        self.sio = socketio.AsyncClient(reconnection=False, http_session=lambda: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(self.address, 0))))
        self.sio.on('update', self._update)
        await self.sio.connect(f'{self.url}?{urlencode({k: _text(v) for k, v in query.items()})}',
                               socketio_path='/_nicegui_ws/socket.io', transports=['websocket'])
        if not query.get('implicit_handshake'):
            assert await self.sio.call('handshake', query, timeout=WAIT)
        return self

    async def shows(self, *texts: str, within: float = WAIT) -> str:
        """Wait until the page shows one of ``texts``; that one."""
        async with asyncio.timeout(within):
            while not (seen := [t for t in texts if t in self.texts]):
                self.changed.clear()
                await self.changed.wait()
        return seen[0]

    def ticket(self) -> str:
        """The person's ticket, as the page gives it to its call view."""
        return next(str(p['ticket']) for p in self.props if 'ticket' in p)

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()

    def _update(self, data: dict[str, Any]) -> None:
        for element in data.values():
            if isinstance(element, dict):
                if 'text' in element:
                    self.texts.add(str(element['text']))
                self.props.append(element.get('props') or {})
        self.changed.set()


class GatedMedia(SyntheticMedia):
    """A test pattern and a tone that start only when ``gate`` is set: a person slow to allow their camera."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    def track_for(self, kind: str, received: MediaStreamTrack | None) -> MediaStreamTrack | None:
        track = super().track_for(kind, received)
        return _Gated(track, self.gate) if track is not None else None


class _Gated(MediaStreamTrack):
    def __init__(self, track: MediaStreamTrack, gate: asyncio.Event) -> None:
        super().__init__()
        self.kind = track.kind
        self.track = track
        self.gate = gate

    async def recv(self) -> Any:
        await self.gate.wait()
        return await self.track.recv()


def person(url: str, view: PageView, media: SyntheticMedia) -> Bot:
    """The person's "browser" for ``view``: a bot that joins with the page's own ticket."""
    ticket = view.ticket()
    room = TicketMint(SECRET, 900).check(ticket).room
    return Bot(url, room, 'Ada', media, ticket=ticket, local_address=view.address, allow_private_candidates=True)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def line_server(request: pytest.FixtureRequest) -> Iterator[SkyCallProcess]:
    """A server whose echo line has the test's ``capacity`` seats (pytest.mark.parametrize indirect)."""
    server = SkyCallProcess(secret=SECRET, echo_max=str(request.param), allow_private_candidates='true').start()
    yield server
    server.stop()


@pytest.fixture
async def views(line_server: SkyCallProcess) -> AsyncIterator[Any]:
    opened: list[PageView] = []

    async def view(address: str) -> PageView:
        opened.append(await PageView(line_server.url, address).open())
        return opened[-1]

    yield view
    for v in opened:
        await v.close()


@pytest.mark.parametrize('line_server', [2], indirect=True)
async def test_one_address_has_one_session_and_a_reload_replaces_it(views):
    ada = new_address()
    first = await views(ada)
    assert await first.shows(IN_CALL, BUSY) == IN_CALL
    reload = await views(ada)  # the same address again: the newer page gets the call, the older one ends
    assert await reload.shows(IN_CALL, BUSY) == IN_CALL
    await first.shows(ENDED)
    again = await views(ada)
    assert await again.shows(IN_CALL, BUSY) == IN_CALL

    # Three page views from Ada's address took one of the two seats: Grace gets the other.
    grace = await views(new_address())
    assert await grace.shows(IN_CALL, BUSY) == IN_CALL
    assert await (await views(new_address())).shows(IN_CALL, BUSY) == BUSY


@pytest.mark.parametrize('line_server', [1], indirect=True)
async def test_a_seat_whose_person_never_comes_is_free_again_after_a_few_seconds(views):
    ghost = await views(new_address())  # a page view with its websocket, and then nothing
    assert await ghost.shows(IN_CALL, BUSY) == IN_CALL
    opened = time.monotonic()
    assert await (await views(new_address())).shows(IN_CALL, BUSY) == BUSY  # the seat is held while it opens

    while await (await views(new_address())).shows(IN_CALL, BUSY) == BUSY:
        assert time.monotonic() - opened < ARRIVAL_SECONDS + 5, 'the line stayed busy'
        await asyncio.sleep(0.5)  # a person trying again a little later
    await ghost.shows(ENDED, within=5)  # nobody came: the session itself ended


@pytest.mark.parametrize('line_server', [1], indirect=True)
async def test_a_person_whose_media_flows_keeps_the_seat(views, line_server):
    ada = await views(new_address())
    assert await ada.shows(IN_CALL, BUSY) == IN_CALL
    bot = person(line_server.url, ada, SyntheticMedia())
    run = asyncio.create_task(bot.run())
    try:
        await bot.wait_for(lambda: bot.received.count('video') >= 5, WAIT)  # her picture comes back
        # Well past the wait for a person to arrive, her session still holds the line's one seat.
        deadline = time.monotonic() + ARRIVAL_SECONDS + 2
        while time.monotonic() < deadline:
            assert await (await views(new_address())).shows(IN_CALL, BUSY) == BUSY
            await asyncio.sleep(0.5)  # a person trying again a little later
        assert not run.done()
    finally:
        bot.stop()
        await asyncio.wait_for(run, WAIT)


@pytest.mark.parametrize('line_server', [1], indirect=True)
async def test_a_person_who_sends_nothing_stops_counting_and_is_busy_if_media_comes_once_the_line_is_full(
        views, line_server):
    ada = await views(new_address())
    assert await ada.shows(IN_CALL, BUSY) == IN_CALL
    media = GatedMedia()
    bot = person(line_server.url, ada, media)
    run = asyncio.create_task(bot.run())
    try:
        await bot.wait_for(lambda: any(link.pc.connectionState == 'connected' for link in bot.links.values()), WAIT)
        opened = time.monotonic()
        # Connected, but no media: after the wait for it, Ada no longer holds the seat, and Grace gets it.
        while await (grace := await views(new_address())).shows(IN_CALL, BUSY) == BUSY:
            assert time.monotonic() - opened < ARRIVAL_SECONDS + 5, 'the line stayed busy'
            await asyncio.sleep(0.5)  # a person trying again a little later
        assert not run.done()

        media.gate.set()  # now Ada's media comes, but the line is full: her call ends as busy, Grace's goes on
        assert await ada.shows(FAILED) == FAILED
        await ada.shows(BUSY + '.')  # why, in the dialog
        assert (await asyncio.wait_for(run, WAIT)).kind == 'hung-up'
        assert ENDED not in grace.texts and FAILED not in grace.texts
    finally:
        bot.stop()
        await asyncio.wait_for(run, WAIT)
