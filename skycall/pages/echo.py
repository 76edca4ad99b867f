"""The echo test line (``/echo``): a call with a server-side peer that sends you your own camera and sound."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Request
from nicegui import ui
from nicegui.client import ClientConnectionTimeout

from ..api import client_address
from ..components.call_events import StatusEvent
from ..components.call_view import CallView
from ..echo import EchoLine, EchoSession, EchoUnavailable
from ..errors import SkyCallError
from ..icons import ICONS
from . import frame
from .call_style import CSS

BUSY = 'The test line is busy, try again in a minute'
CONNECT_TIMEOUT = 30.0


def register(line: EchoLine, ice_servers: list[dict[str, Any]]) -> None:
    @ui.page('/echo')
    async def echo(request: Request) -> None:
        frame.theme('Test call')
        frame.header()
        if line.busy_for(client_address(request)):  # a reload finds its own seat
            frame.message_screen(BUSY, 'Everyone else is testing right now.')
            return
        ui.add_css(CSS)
        with ui.column().classes('full-width skycall-center skycall-page') as calling:
            ui.spinner('dots', size='lg')
            ui.label('Calling the test line…').classes('skycall-text-xl')
        # A session starts only for a page that is really there, and starting one may take a moment (the
        # first on a worker loads aiortc): so the page is shown first and the session opened after.
        client = ui.context.client
        try:
            await client.connected(timeout=CONNECT_TIMEOUT)
        except ClientConnectionTimeout:
            return
        if client.is_deleted:
            return
        try:
            session = await line.open(client_address(request), frame.stored_name() or 'You')
        except SkyCallError as error:
            session, problem = None, (error.message, 'Try the test call again later.')
        except EchoUnavailable:
            session, problem = None, ('The test line is not working right now', 'Try again in a minute.')
        else:
            problem = (BUSY, 'Everyone else is testing right now.')
        calling.delete()
        if session is None:
            frame.message_screen(*problem)
            return
        # Closing the page ends the session: at once through signaling (the browser leaves the room, the
        # echo peer hangs up), and here too in case the browser never got that far.
        client.on_delete(lambda: session.stop('The page was closed.'))
        if client.is_deleted:
            session.stop('The page was closed.')
            return
        EchoPage(line, session, ice_servers)


class EchoPage:
    """The person's call with the echo peer: the CallView, the round-trip delay, the time left."""

    def __init__(self, line: EchoLine, session: EchoSession, ice_servers: list[dict[str, Any]]) -> None:
        self.session = session
        self.finished = False
        with ui.element('div').classes('skycall-call'):
            with ui.element('section').classes('skycall-video-area').props('aria-label="Test call"'):
                ui.label('You should see and hear yourself').classes('skycall-text-xl text-center')
                with ui.element('div').classes('skycall-stage-wrap'):
                    self.view = CallView(line.calls.sign(session.person), ice_servers).classes('skycall-stage')
                with ui.row().classes('skycall-controls'):
                    self.status = ui.label('Connecting…').props('role=status aria-live=polite')
                    self.delay = ui.label('Round trip: measuring…').props('aria-live=off')
                    self.left = ui.label(_minutes(session.time_left()))
                    self.end_button = ui.button('End test', icon=ICONS['call_end'], color='negative', on_click=self.end)
        self.view.on_status(self._status)
        self.timer = ui.timer(1.0, self.tick)

    def _status(self, e: StatusEvent) -> None:
        if not self.finished:
            self.status.set_text(e.status)

    async def tick(self) -> None:
        if self.session.ended.is_set():
            await self.finish()
            return
        self.left.set_text(_minutes(self.session.time_left()))
        try:
            rtt = await self.session.round_trip_time()
        except Exception:  # noqa: BLE001 (a peer connection closing meanwhile: try again next second)
            return
        if rtt is not None:
            # The network round trip, from the RTCP reports of the media the test line sends back to you.
            self.delay.set_text(f'Round trip: {rtt * 1000:.0f} ms')

    async def end(self) -> None:
        self.session.stop('Ended by the person testing.')
        await self.finish()

    async def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.timer.cancel()
        outcome = self.session.outcome
        failed = outcome is not None and not outcome.ok
        self.status.set_text('The test call failed' if failed else 'The test call has ended')
        self.left.set_text('')
        self.end_button.disable()
        with contextlib.suppress(Exception):  # the page may be gone already
            await self.view.hang_up()
        with ui.dialog().props('persistent') as dialog, ui.card().classes('skycall-card skycall-dialog'):
            ui.label('The test call failed' if failed else 'The test call has ended').classes('skycall-text-xl')
            if failed and outcome is not None:
                ui.label(outcome.message[:300]).classes('skycall-dim')
            elif outcome is not None and outcome.kind == 'duration':
                ui.label(f'A test call lasts {self.session.seconds / 60:g} minutes.').classes('skycall-dim')
            with ui.row().classes('full-width justify-end'):
                ui.button('Go home', on_click=frame.go_home).props('flat')
                ui.button('Test again', on_click=lambda: ui.navigate.to('/echo')).props('unelevated')
        dialog.open()


def _minutes(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f'{whole // 60}:{whole % 60:02d} left'
