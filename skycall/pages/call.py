"""The call page (``/call/<room>``) and the invite landing page (``/dial/<room>``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import app, events, ui

from ..calls import Calls
from ..components.call_view import CallView
from ..protocol import MAX_CHAT, new_peer_id
from . import frame

CSS = """
.skycall-call { display: flex; width: 100%; height: calc(100vh - 56px); }
.skycall-video-area { width: 75%; display: flex; flex-direction: column; padding: 8px; gap: 8px; }
.skycall-chat { width: 25%; min-width: 240px; display: flex; flex-direction: column; padding: 8px; gap: 8px;
                background: #111827; }
.skycall-stage { position: relative; flex: 1; min-height: 240px; background: #020617; border-radius: 12px;
                 overflow: hidden; }
.skycall-remotes { position: absolute; inset: 0; display: grid; gap: 4px;
                   grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); }
.skycall-tile { position: relative; background: #000; }
.skycall-tile video { width: 100%; height: 100%; object-fit: contain; }
.skycall-name { position: absolute; left: 8px; bottom: 8px; padding: 2px 8px; border-radius: 6px;
                background: rgba(0,0,0,.55); color: #fff; font-size: 14px; }
.skycall-sound { position: absolute; right: 8px; top: 8px; padding: 6px 12px; border-radius: 6px; }
.skycall-local { position: absolute; right: 12px; bottom: 12px; width: 22%; min-width: 120px; max-width: 260px;
                 border-radius: 8px; border: 2px solid rgba(255,255,255,.6); background: #111; z-index: 2;
                 transform: scaleX(-1); }
@media (max-width: 600px) {
  .skycall-call { flex-direction: column; height: auto; }
  .skycall-video-area, .skycall-chat { width: 100%; min-width: 0; }
  .skycall-stage { min-height: 60vh; }
  .skycall-chat { min-height: 50vh; }
}
"""


def register(calls: Calls, ice_servers: list[dict[str, Any]], ticket_refresh_seconds: float) -> None:
    @ui.page('/dial/{room}')
    async def dial(room: str) -> None:
        if not await calls.exists(room):
            frame.not_found()
            return
        frame.theme('Join a call')
        frame.header()

        async def enter(_name: str) -> None:
            ui.navigate.to(f'/call/{room}')

        dialog, _ = frame.name_dialog('Join a call', 'Join', enter)
        dialog.props('persistent')
        dialog.on('hide', lambda: ui.navigate.to('/'))
        dialog.open()

    @ui.page('/call/{room}')
    async def call(room: str, request: Request) -> None:
        if not await calls.exists(room):
            frame.not_found()
            return
        name = frame.stored_name()
        if not name:
            ui.navigate.to(f'/dial/{room}')
            return
        ticket = await calls.ticket(room, name, _peer_id_for(room))
        frame.theme('Call')
        ui.add_css(CSS)
        frame.header()
        CallPage(calls, ticket, ice_servers, invite=f'{str(request.base_url).rstrip("/")}/dial/{room}',
                 ticket_refresh_seconds=ticket_refresh_seconds)


def _peer_id_for(room: str) -> str:
    """The same browser keeps its peer id in a room, so a reload replaces its seat (no ghost)."""
    peers = dict(app.storage.user.get('peers') or {})
    peer = peers.get(room)
    if not isinstance(peer, str):
        peer = new_peer_id()
        peers = dict(list(peers.items())[-19:])  # remember the last 20 rooms only
        peers[room] = peer
        app.storage.user['peers'] = peers
    return peer


class CallPage:
    """The call view, the chat beside it, and the buttons, wired to the CallView element."""

    def __init__(self, calls: Calls, ticket: Any, ice_servers: list[dict[str, Any]], invite: str,
                 ticket_refresh_seconds: float) -> None:
        self.calls = calls
        self.ticket = ticket
        self.me = ticket.peer
        self.invite_dialog: ui.dialog = self._invite_dialog(invite)
        with ui.element('div').classes('skycall-call'):
            with ui.element('section').classes('skycall-video-area').props('aria-label="Video"'):
                self.view = CallView(calls.sign(ticket), ice_servers).classes('skycall-stage')
                with ui.row().classes('items-center gap-2 w-full'):
                    self.status = ui.label('Connecting…').props('role=status aria-live=polite')
                    ui.space()
                    ui.button('Invite', icon='person_add', on_click=lambda: self.invite_dialog.open()).props('outline')
                    ui.button('Hang up', icon='call_end', color='negative', on_click=self.hang_up).props('unelevated')
            with ui.element('aside').classes('skycall-chat').props('aria-label="Chat"'):
                ui.label('Chat').classes('text-lg')
                with ui.scroll_area().classes('flex-1') as self.scroll:
                    self.messages = ui.column().classes('w-full gap-1')
                with ui.row().classes('w-full no-wrap items-center'):
                    self.input = ui.input('Message').props(f'maxlength={MAX_CHAT} outlined dark dense')
                    self.input.classes('flex-1').on('keydown.enter', self.send)
                    ui.button('Send', on_click=self.send).props('unelevated')
        self.view.on('status', lambda e: self.status.set_text(_text(e, 'status', 40)))
        self.view.on('peer-joined', lambda e: ui.notify(f'{_text(e, "name", 64)} joined the call'))
        self.view.on('peer-left', self.peer_left)
        self.view.on('chat', self.show_chat)
        self.view.on('error', self.show_error)
        self.view.on('media-error', lambda e: ui.notify(_text(e, 'message', 300), type='warning', timeout=10000))
        ui.timer(ticket_refresh_seconds, self.refresh_ticket)

    def _invite_dialog(self, link: str) -> ui.dialog:
        with ui.dialog() as dialog, ui.card().classes('skycall-card skycall-dialog gap-4'):
            ui.label('Invite someone').classes('text-xl')
            ui.label('Send this link to the person you want to talk to.').classes('text-slate-400')
            ui.input('Invite link', value=link).props('readonly outlined dark').classes('w-full')

            def copy() -> None:
                ui.clipboard.write(link)
                ui.notify('Link copied')

            with ui.row().classes('w-full justify-end'):
                ui.button('Close', on_click=dialog.close).props('flat')
                ui.button('Copy link', icon='content_copy', on_click=copy).props('unelevated')
        return dialog

    async def send(self) -> None:
        text = (self.input.value or '').strip()
        if not text:
            return
        reply = await self.view.send_chat(text)
        if reply.get('ok'):
            self.input.value = ''
        else:
            ui.notify(str(reply.get('message', 'The message was not sent.'))[:300], type='negative')

    def show_chat(self, e: events.GenericEventArguments) -> None:
        with self.messages:
            ui.chat_message(text=_text(e, 'text', MAX_CHAT), name=_text(e, 'name', 64),
                            stamp=_text(e, 'time', 16), sent=_text(e, 'from', 64) == self.me)
        self.scroll.scroll_to(percent=1.0)

    def peer_left(self, e: events.GenericEventArguments) -> None:
        if _text(e, 'reason', 20) != 'replaced':
            ui.notify(f'{_text(e, "name", 64)} left the call')

    def show_error(self, e: events.GenericEventArguments) -> None:
        if _text(e, 'code', 32) != 'no-such-peer':
            ui.notify(_text(e, 'message', 300), type='negative')

    async def hang_up(self) -> None:
        await self.view.hang_up()
        ui.navigate.to('/')

    async def refresh_ticket(self) -> None:
        self.view.set_ticket(self.calls.sign(self.ticket))


def _text(e: events.GenericEventArguments, key: str, limit: int) -> str:
    """A field of an event from the browser, as bounded plain text."""
    args = e.args if isinstance(e.args, dict) else {}
    return str(args.get(key, ''))[:limit]
