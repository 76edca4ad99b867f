"""What every page shares: the theme, the header, the name dialog and the "not found" screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import app, ui

from ..errors import MESSAGES
from ..protocol import MAX_NAME, NewTicket, parse
from .icons import NOTIFY_ICONS

CSS = """
:root { --skycall-blue: #2563eb; }
body { background: #0f172a; color: #e2e8f0; }
.skycall-card { background: #1e293b; color: #e2e8f0; }
.skycall-dialog { width: 420px; max-width: 100vw; }
@media (max-width: 600px) { .skycall-dialog { width: 100vw; } }
"""


def theme(title: str) -> None:
    """Colours, fonts and the page title."""
    ui.page_title(f'{title} · SkyCall' if title else 'SkyCall')
    ui.colors(primary='#2563eb')
    ui.add_css(CSS)
    ui.query('body').classes('min-h-screen')


def header() -> None:
    with ui.row().classes('items-center gap-2 px-4 py-2'):
        with ui.link(target='/').classes('flex items-center gap-2 no-underline text-inherit'):
            logo('w-8 h-8', alt='')
            ui.label('SkyCall').classes('text-lg font-semibold text-white')


def logo(classes: str, alt: str = 'SkyCall logo') -> None:
    # A plain <img>: Quasar's q-img shows a spinner while an SVG this small loads.
    ui.element('img').props(f'src=/assets/logo.svg alt="{alt}"').classes(classes)


def stored_name() -> str:
    name = app.storage.user.get('name', '')
    return name if isinstance(name, str) else ''


def check_name(value: str | None) -> str | None:
    """A validation message for the name input, or None when it is fine."""
    text = (value or '').strip()
    if not text:
        return 'Please type your name.'
    if len(text) > MAX_NAME:
        return f'At most {MAX_NAME} characters.'
    try:
        parse(NewTicket, {'name': text})
    except Exception:  # noqa: BLE001 (any refusal means the same thing to the person)
        return 'Please use letters, digits and punctuation only.'
    return None


def name_input() -> ui.input:
    return ui.input('Your name', value=stored_name(), validation=check_name).props(
        f'maxlength={MAX_NAME} autofocus outlined dark').classes('w-full')


def remember_name(name: str) -> None:
    app.storage.user['name'] = name.strip()


def not_found() -> None:
    """A room that does not exist (or a malformed link): say so, and show the way home."""
    theme('Call not found')
    header()
    message_screen(MESSAGES['no-such-room'], 'Check the link, or start a new call.')


def message_screen(title: str, hint: str) -> None:
    with ui.column().classes('w-full items-center mt-16 gap-4 px-4 text-center'):
        ui.label(title).classes('text-2xl')
        ui.label(hint).classes('text-slate-400')
        ui.button('Go home', on_click=go_home).props('unelevated')


def message_dialog(title: str) -> None:
    """Something ended the call for good: say what, with the way home."""
    with ui.dialog().props('persistent') as dialog, ui.card().classes('skycall-card skycall-dialog gap-4'):
        ui.label(title).classes('text-xl')
        with ui.row().classes('w-full justify-end'):
            ui.button('Go home', on_click=go_home).props('unelevated')
    dialog.open()


def name_dialog(title: str, submit_label: str,
                on_submit: Callable[[str], Awaitable[None]]) -> tuple[ui.dialog, ui.input]:
    """A dialog that asks "Your name" and calls ``on_submit`` with it."""
    with ui.dialog() as dialog, ui.card().classes('skycall-card skycall-dialog gap-4'):
        ui.label(title).classes('text-xl')
        name = name_input()

        async def submit() -> None:
            if name.validate():
                remember_name(name.value)
                await on_submit(name.value.strip())

        name.on('keydown.enter', submit)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button(submit_label, on_click=submit).props('unelevated')
    dialog.on('before-show', lambda: name.set_value(stored_name() or name.value))
    return dialog, name


class Countdown:
    """A dialog that counts down with a progress bar, then calls ``on_done`` (usually: go home).

    The bar has a fixed width, so the text beside it never makes it jump.
    """

    def __init__(self, title: str, message: str, seconds: float, on_done: Callable[[], None],
                 buttons: list[tuple[str, Callable[[], None]]]) -> None:
        self.seconds = seconds
        self.left = seconds
        self.on_done = on_done
        with ui.dialog().props('persistent') as self.dialog, ui.card().classes('skycall-card skycall-dialog gap-4'):
            ui.label(title).classes('text-xl')
            ui.label(message).classes('text-slate-300')
            self.bar = ui.linear_progress(value=1.0, show_value=False, size='8px').classes('w-full')
            self.bar.props('instant-feedback aria-label="Time left"')
            self.note = ui.label().classes('text-slate-400 text-sm')
            with ui.row().classes('w-full justify-end'):
                for label, handler in buttons:
                    ui.button(label, on_click=lambda h=handler: self._press(h)).props('unelevated')
        self.timer = ui.timer(0.25, self._tick)
        self._show()
        self.dialog.open()

    def _show(self) -> None:
        self.bar.value = max(0.0, self.left / self.seconds)
        self.note.text = f'Going home in {max(0, round(self.left))} s'

    def _tick(self) -> None:
        self.left -= 0.25
        self._show()
        if self.left <= 0:
            self.close()
            self.on_done()

    def _press(self, handler: Callable[[], None]) -> None:
        self.close()
        handler()

    def close(self) -> None:
        self.timer.cancel()
        self.dialog.close()


def notify(message: str, type: str | None = None, **options: Any) -> None:
    """``ui.notify`` with the type's icon inline: Quasar's default icon would fetch the icon font."""
    if type is not None:
        options.update(type=type, icon=NOTIFY_ICONS[type])
    ui.notify(message, **options)


def go_home() -> None:
    ui.navigate.to('/')
