"""The call page itself: the video, its buttons and the chat (call_routes.py serves it at /dial and /call)."""

from __future__ import annotations

from typing import Any

from nicegui import events, ui

from ..calls import Calls
from ..components.call_events import (
    AdmittedEvent,
    ChatEvent,
    ConnectionEvent,
    DeclinedEvent,
    MediaErrorEvent,
    MediaEvent,
    PeerJoinedEvent,
    PeerLeftEvent,
    ProblemEvent,
)
from ..components.call_view import JOIN_REFUSALS, CallView
from ..errors import MESSAGES
from ..icons import ICONS
from ..tickets import Ticket
from . import frame, memory
from .chat import ChatPanel, notify_about

CALL_ENDED_SECONDS = 20
DECLINED_SECONDS = 6


def show_call_full(max_participants: int) -> None:
    """The page shown instead of the call when every seat is taken."""
    frame.theme('Call is full')
    frame.header()
    fit = 'Only one person fits' if max_participants == 1 else f'Only {max_participants} people fit'
    frame.message_screen(MESSAGES['room-full'], f'{fit} in a call.')


class CallPage:
    """The call view, its buttons and the chat, wired to the CallView element's events."""

    def __init__(self, calls: Calls, ticket: Ticket | None, ice_servers: list[dict[str, Any]], invite: str,
                 ticket_refresh_seconds: float) -> None:
        """Without a ticket the page is a preview (camera on, signaling connected) until ``start``."""
        self.calls = calls
        self.ticket = ticket
        self.ticket_refresh_seconds = ticket_refresh_seconds
        self.ended: frame.Countdown | None = None
        self.audio_on = True
        self.video_on = True
        self.invite_dialog = self._invite_dialog(invite)
        with ui.element('div').classes('skycall-call'):
            with ui.element('section').classes('skycall-video-area').props('aria-label="Video"'):
                with ui.element('div').classes('skycall-stage-wrap'):
                    ring = memory.recall().ring
                    CallView.early_start()
                    self.view = CallView(calls.sign(ticket) if ticket else '', ice_servers, ring=ring)
                    self.view.classes('skycall-stage')
                    self.calling = self._calling_banner()
                self.status = ui.label('Connecting…' if ticket else '').props('role=status aria-live=polite')
                with ui.row().classes('skycall-controls'):
                    self.mute = ui.button('Mute', icon=ICONS['mic'], on_click=self.toggle_audio).props('outline')
                    self.camera = ui.button('Camera off', icon=ICONS['videocam'], on_click=self.toggle_video)
                    self.camera.props('outline')
                    with ui.button('Chat', icon=ICONS['chat'], on_click=self.toggle_chat):
                        self.badge = ui.badge('0', color='red').props('floating aria-label="Unread"')
                        self.badge.set_visibility(False)
                    ui.button('Invite', icon=ICONS['person_add'], on_click=self.invite_dialog.open).props('outline')
                    ui.switch('Ring', value=ring, on_change=self.set_ring).props('dark')
                    ui.button('Hang up', icon=ICONS['call_end'], color='negative', on_click=self.hang_up)
            self.chat = ChatPanel(self.view.send_chat)
        self.chat.on_unread = self._show_unread
        self._listen()
        if ticket is not None:
            self._seat(ticket)

    def start(self, ticket: Ticket) -> None:
        """Join the call from the preview: the element already has its camera and connection."""
        self._seat(ticket)
        self.status.set_text('Connecting…')
        self.view.start(self.calls.sign(ticket))

    def _seat(self, ticket: Ticket) -> None:
        self.ticket = ticket
        self.chat.me = ticket.peer
        ui.timer(self.ticket_refresh_seconds, self._refresh_ticket)

    def _refresh_ticket(self) -> None:
        if self.ticket is not None:
            self.view.set_ticket(self.calls.sign(self.ticket))

    def _listen(self) -> None:
        view = self.view
        view.on_status(lambda e: self.status.set_text(e.status))
        view.on_layout(lambda e: self.chat.set_open(not e.phone))
        view.on_waiting(self.waiting)
        view.on_joined(lambda: self.calling.set_visibility(False))
        view.on_admitted(self.admitted)
        view.on_no_answer(self.nobody_answered)
        view.on_declined(self.declined)
        view.on_join_failed(self.join_failed)
        view.on_peer_joined(self.peer_joined)
        view.on_peer_left(self.peer_left)
        view.on_chat(self.show_chat)
        view.on_media(self.media)
        view.on_media_error(self.media_error)
        view.on_connection(self.connection)
        view.on_error(self.error)

    # ---- calling (knocking) ----

    def _calling_banner(self) -> ui.element:
        with ui.element('div').classes('skycall-calling') as banner:
            ui.spinner('dots', size='lg')
            ui.label('Calling…').classes('skycall-text-xl')
            ui.label('Waiting for someone in the call to answer.').classes('skycall-soft')
            ui.button('Cancel', on_click=self.cancel).props('unelevated color=negative')
        banner.set_visibility(False)
        return banner

    def waiting(self) -> None:
        self.calling.set_visibility(True)

    def admitted(self, e: AdmittedEvent) -> None:
        if e.empty:  # let in by the server: whoever was there left before answering
            ui.notify('Nobody else is here yet: the others left before answering.')

    def nobody_answered(self) -> None:
        """The server ended our knock at its ring timeout (the element has hung up already)."""
        self.finish('No answer', 'Nobody answered your call.')

    async def cancel(self) -> None:
        await self.view.hang_up()
        self.finish('Call cancelled', 'You cancelled the call.')

    def declined(self, e: DeclinedEvent) -> None:
        self.finish('Call declined', f'{e.by} declined your call.')

    def finish(self, title: str, message: str) -> None:
        self.calling.set_visibility(False)
        frame.Countdown(title, message, DECLINED_SECONDS, frame.go_home, [('Go home now', frame.go_home)])

    # ---- people coming and going ----

    def peer_joined(self, e: PeerJoinedEvent) -> None:
        if self.ended is not None:
            self.ended.close()
            self.ended = None
        notify_about(e.name, ' joined the call')

    def peer_left(self, e: PeerLeftEvent) -> None:
        if e.reason == 'replaced':
            return
        notify_about(e.name, ' left the call')
        if e.known and e.remaining == 0:
            ui.notify('Call ended')
            self.ended = frame.Countdown('Call ended', 'You are the only one left in this call.', CALL_ENDED_SECONDS,
                                         frame.go_home,
                                         [('Stay in this room', self._stay), ('Go home now', frame.go_home)])

    def _stay(self) -> None:
        self.ended = None

    def join_failed(self, e: ProblemEvent) -> None:
        if e.code in JOIN_REFUSALS:
            self.calling.set_visibility(False)
            frame.message_dialog(MESSAGES[e.code])
        else:
            frame.notify(e.message, type='negative')

    def connection(self, e: ConnectionEvent) -> None:
        if e.lost:
            frame.notify('Connection lost. Reconnecting…', type='warning')
        else:
            frame.notify('Connection restored', type='positive')

    def error(self, e: ProblemEvent) -> None:
        if e.code in JOIN_REFUSALS:
            return  # join-failed shows it, as a dialog
        if e.code == 'replaced':
            frame.message_dialog(MESSAGES['replaced'])
        elif e.code != 'no-such-peer':
            frame.notify(e.message, type='negative')

    def show_chat(self, e: ChatEvent) -> None:
        self.chat.show(e.id, e.sender_id, e.name, e.text, e.time, history=e.history)

    # ---- my camera and microphone ----

    def toggle_audio(self) -> None:
        self.view.set_audio(not self.audio_on)

    def toggle_video(self) -> None:
        self.view.set_video(not self.video_on)

    def media(self, e: MediaEvent) -> None:
        self.audio_on, self.video_on = e.audio, e.video
        self.mute.set_text('Unmute' if not self.audio_on else 'Mute')
        self.mute.set_icon(ICONS['mic_off' if not self.audio_on else 'mic'])
        self.mute.set_enabled(e.has_audio)
        self.camera.set_text('Camera on' if not self.video_on else 'Camera off')
        self.camera.set_icon(ICONS['videocam_off' if not self.video_on else 'videocam'])
        self.camera.set_enabled(e.has_video)

    def media_error(self, e: MediaErrorEvent) -> None:
        frame.notify(e.message, type='warning', timeout=10000)

    async def set_ring(self, e: events.ValueChangeEventArguments) -> None:
        self.view.set_ring(bool(e.value))
        await memory.remember(memory.recall().ringing(bool(e.value)))

    async def hang_up(self) -> None:
        await self.view.hang_up()
        frame.go_home()

    def toggle_chat(self) -> None:
        self.chat.set_open(not self.chat.is_open)

    def _show_unread(self, count: int) -> None:
        self.badge.set_text(str(count))
        self.badge.set_visibility(count > 0)

    def _invite_dialog(self, link: str) -> ui.dialog:
        with ui.dialog() as dialog, ui.card().classes('skycall-card skycall-dialog'):
            ui.label('Invite someone').classes('skycall-text-xl')
            ui.label('Send this link to the person you want to talk to.').classes('skycall-dim')
            ui.input('Invite link', value=link).props('readonly outlined dark').classes('full-width')

            def copy() -> None:
                ui.clipboard.write(link)
                ui.notify('Link copied')

            with ui.row().classes('full-width justify-end'):
                ui.button('Close', on_click=dialog.close).props('flat')
                ui.button('Copy link', icon=ICONS['content_copy'], on_click=copy).props('unelevated')
        return dialog

