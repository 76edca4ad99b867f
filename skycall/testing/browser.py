"""Debian's Chromium with a fake camera and microphone, as the end-to-end tests and the benchmarks run it
(Playwright cannot download its own browser here)."""

from __future__ import annotations

import shutil

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

CHROMIUM_FLAGS = [
    '--use-fake-device-for-media-stream',    # a synthetic camera and a beep
    '--use-fake-ui-for-media-stream',        # no permission prompt
    '--allow-loopback-in-peer-connection',   # ICE over lo, the only interface some machines have
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-gpu',
]


def chromium_path() -> str:
    path = shutil.which('chromium') or shutil.which('chromium', path='/usr/bin')
    if path is None:
        raise RuntimeError('Debian\'s chromium is not installed: run `make test` (it installs it).')
    return path


def launch(playwright: Playwright, *, camera_allowed: bool = True) -> Browser:
    """Chromium, headless; without ``camera_allowed`` it has a (fake) camera but refuses getUserMedia."""
    flags = CHROMIUM_FLAGS if camera_allowed else [f for f in CHROMIUM_FLAGS if f != '--use-fake-ui-for-media-stream']
    return playwright.chromium.launch(executable_path=chromium_path(), args=flags, chromium_sandbox=False)


class Person:
    """One person in their own browser context: a page, and the JavaScript errors it raised."""

    def __init__(self, context: BrowserContext, name: str) -> None:
        self.context = context
        self.name = name
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on('pageerror', lambda error: self.errors.append(str(error)))
        self.page.on('console', self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == 'error' and 'Content Security Policy' in message.text:
            self.errors.append(message.text)
