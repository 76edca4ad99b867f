"""The chat beside the video: messages as text, unread count, and "New messages" when scrolled up."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import events, ui

from ..components.call_view import Reply
from ..icons import ICONS
from ..protocol import MAX_CHAT
from . import frame

PREVIEW_WORDS = 8


def name_html(name: str) -> str:
    """A person's name as HTML: escaped (text, never markup) and in a <bdi> of its own, so that a right-to-left
    name cannot reorder the words shown around it."""
    return f'<bdi>{html.escape(name)}</bdi>'


def notify_about(name: str, words: str, **options: Any) -> None:
    """A notification that starts with a person's name, followed by ``words`` (plain text): "Ada left the call".

    Quasar's notifications show text or HTML; HTML, escaped, is what lets the name sit isolated in a <bdi>.
    """
    ui.notify(name_html(name) + html.escape(words), html=True, **options)


class ChatPanel:
    """Messages, the Message input and Send. ``on_send`` gets the text and returns the server's reply."""

    def __init__(self, on_send: Callable[[str], Awaitable[Reply]]) -> None:
        self.on_send = on_send
        self.me = ''
        self.unread = 0
        self.shown: set[str] = set()  # message ids: a rejoin replays the history, each shows once
        self.is_open = True
        self.at_bottom = True
        self.on_unread: Callable[[int], None] = lambda _count: None
        with ui.element('aside').classes('skycall-chat').props('aria-label="Chat"') as self.panel:
            with ui.row().classes('full-width skycall-center'):
                ui.label('Chat').classes('skycall-text-lg')
                ui.space()
                self.close_button = ui.button(icon=ICONS['close'], on_click=lambda: self.set_open(False))
                self.close_button.props('flat round aria-label="Close chat"').classes('skycall-phone-only')
            with ui.element('div').classes('skycall-chat-log'):
                self.scroll = ui.scroll_area(on_scroll=self._scrolled).classes('absolute-full')
                with self.scroll:
                    self.messages = ui.column().classes('full-width skycall-gap-1')
                self.jump = ui.button('New messages', icon=ICONS['arrow_downward'], on_click=self.scroll_to_end)
                self.jump.props('rounded unelevated size=sm').classes('skycall-jump')
                self.jump.set_visibility(False)
            with ui.row().classes('full-width no-wrap skycall-center'):
                self.input = ui.input('Message').props(f'maxlength={MAX_CHAT} outlined dark dense')
                self.input.classes('skycall-grow').on('keydown.enter', self.send)
                ui.button('Send', on_click=self.send).props('unelevated')

    async def send(self) -> None:
        text = (self.input.value or '').strip()
        if not text:
            return
        reply = await self.on_send(text)
        if reply.ok:
            self.input.value = ''
        else:
            frame.notify(reply.message or 'The message was not sent.', type='negative')

    def show(self, message_id: str, sender_id: str, name: str, text: str, time: str, history: bool = False) -> None:
        if message_id in self.shown:
            return
        self.shown.add(message_id)
        mine = sender_id == self.me
        with self.messages:
            ui.chat_message(text=text, name=name, stamp=time, sent=mine)  # text, never HTML; the name isolated (CSS)
        if mine or history or (self.is_open and self.at_bottom):
            self.scroll_to_end()
        elif self.is_open:
            self.jump.set_visibility(True)
        if not self.is_open and not mine and not history:
            self.unread += 1
            self.on_unread(self.unread)
            words = text.split()
            preview = ' '.join(words[:PREVIEW_WORDS]) + ('…' if len(words) > PREVIEW_WORDS else '')
            notify_about(name, f': {preview}', position='top-right')

    def set_open(self, is_open: bool) -> None:
        self.is_open = is_open
        self.panel.classes(add='open' if is_open else 'closed', remove='closed' if is_open else 'open')
        if is_open:
            self.unread = 0
            self.on_unread(0)
            self.scroll_to_end()

    def scroll_to_end(self) -> None:
        self.scroll.scroll_to(percent=1.0)
        self.jump.set_visibility(False)
        self.at_bottom = True

    def _scrolled(self, e: events.ScrollEventArguments) -> None:
        # Near the end counts as the end: new messages then keep the view at the newest one.
        self.at_bottom = e.vertical_size - e.vertical_position - e.vertical_container_size < 40
        if self.at_bottom:
            self.jump.set_visibility(False)
