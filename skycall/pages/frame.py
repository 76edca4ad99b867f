"""What every page shares: the theme, the header, the name dialog and the "not found" screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from ..errors import MESSAGES
from ..icons import NOTIFY_ICONS
from ..protocol import MAX_NAME, name_problem
from . import memory

# The app's own small stylesheet instead of Tailwind's in-browser compiler (67 KiB, and a long task at
# every page load): the few type sizes, colours and spacings SkyCall uses, with Tailwind's values.
# Quasar's own classes do the rest (justify-end, full-width, absolute-full, text-center, q-px-md...), except
# align-items: NiceGUI's rows and columns set it in a CSS layer above Quasar's, hence skycall-center.
# The font is the system's. "Roboto" is left out of the list on purpose: NiceGUI declares it as a web
# font, so naming it would download it for any character the system font lacks.
CSS = """
:root { --skycall-blue: #2563eb; }
body { background: #0f172a; color: #e2e8f0; min-height: 100vh;
       font-family: system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
.skycall-center { align-items: center; }
.skycall-card { background: #1e293b; color: #e2e8f0; }
.skycall-dialog { width: 420px; max-width: 100vw; }
@media (max-width: 600px) { .skycall-dialog { width: 100vw; } }
.skycall-text-sm { font-size: .875rem; line-height: 1.25rem; }
.skycall-text-lg { font-size: 1.125rem; line-height: 1.75rem; }
.skycall-text-xl { font-size: 1.25rem; line-height: 1.75rem; }
.skycall-text-2xl { font-size: 1.5rem; line-height: 2rem; }
.skycall-text-4xl { font-size: 2.25rem; line-height: 2.5rem; }
.skycall-semibold { font-weight: 600; }
.skycall-dim { color: oklch(70.4% .04 256.788); }
.skycall-soft { color: oklch(86.9% .022 252.894); }
.skycall-error { color: oklch(70.4% .191 22.216); }
.skycall-gap-1 { gap: .25rem; }
.skycall-gap-2 { gap: .5rem; }
.skycall-gap-6 { gap: 1.5rem; }
.skycall-page { margin-top: 4rem; }
.skycall-mt-8 { margin-top: 2rem; }
.skycall-home-link { display: flex; align-items: center; gap: .5rem; color: inherit; text-decoration: none; }
.skycall-logo-small { width: 2rem; height: 2rem; display: block; }
.skycall-logo-large { width: 6rem; height: 6rem; display: block; }
"""


def theme(title: str) -> None:
    """Colours, fonts and the page title."""
    ui.page_title(f'{title} · SkyCall' if title else 'SkyCall')
    ui.add_css(CSS)


def header() -> None:
    with ui.row().classes('skycall-center skycall-gap-2 q-px-md q-py-sm'):
        # A plain <a>: ui.link would load one more script for the same link.
        with ui.element('a').props('href=/').classes('skycall-home-link'):
            logo('skycall-logo-small', alt='')
            ui.label('SkyCall').classes('skycall-text-lg skycall-semibold text-white')


def logo(classes: str, alt: str = 'SkyCall logo') -> None:
    # A plain <img>: Quasar's q-img shows a spinner while an SVG this small loads.
    ui.element('img').props(f'src=/assets/logo.svg alt="{alt}"').classes(classes)


def stored_name() -> str:
    """The name this browser remembers ('' for someone new)."""
    return memory.recall().name


def check_name(value: str | None) -> str | None:
    """A validation message for the name input, or None when it is fine."""
    text = (value or '').strip()
    if not text:
        return 'Please type your name.'
    if len(text) > MAX_NAME:
        return f'At most {MAX_NAME} characters.'
    return name_problem(text)  # the rules of the Name every ticket goes through


def name_input() -> ui.input:
    return ui.input('Your name', value=stored_name(), validation=check_name).props(
        f'maxlength={MAX_NAME} autofocus outlined dark').classes('full-width')


def not_found() -> None:
    """A room that does not exist (or a malformed link): say so, and show the way home."""
    theme('Call not found')
    header()
    message_screen(MESSAGES['no-such-room'], 'Check the link, or start a new call.')


def message_screen(title: str, hint: str) -> None:
    with ui.column().classes('full-width skycall-center skycall-page q-px-md text-center'):
        ui.label(title).classes('skycall-text-2xl')
        ui.label(hint).classes('skycall-dim')
        ui.button('Go home', on_click=go_home).props('unelevated')


def message_dialog(title: str) -> None:
    """Something ended the call for good: say what, with the way home."""
    with ui.dialog().props('persistent') as dialog, ui.card().classes('skycall-card skycall-dialog'):
        ui.label(title).classes('skycall-text-xl')
        with ui.row().classes('full-width justify-end'):
            ui.button('Go home', on_click=go_home).props('unelevated')
    dialog.open()


def name_dialog(title: str, submit_label: str,
                on_submit: Callable[[str], Awaitable[None]]) -> tuple[ui.dialog, ui.input]:
    """A dialog that asks "Your name" and calls ``on_submit`` with it (which remembers it, see memory.py)."""
    with ui.dialog() as dialog, ui.card().classes('skycall-card skycall-dialog'):
        ui.label(title).classes('skycall-text-xl')
        name = name_input()

        async def submit() -> None:
            if name.validate():
                await on_submit(name.value.strip())

        name.on('keydown.enter', submit)
        with ui.row().classes('full-width justify-end'):
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
        with ui.dialog().props('persistent') as self.dialog, ui.card().classes('skycall-card skycall-dialog'):
            ui.label(title).classes('skycall-text-xl')
            ui.label(message).classes('skycall-soft')
            self.bar = ui.linear_progress(value=1.0, show_value=False, size='8px').classes('full-width')
            self.bar.props('instant-feedback aria-label="Time left"')
            self.note = ui.label().classes('skycall-dim skycall-text-sm')
            with ui.row().classes('full-width justify-end'):
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
