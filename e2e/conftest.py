"""Real SkyCall servers and one real Chromium (Debian's), shared by the end-to-end tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from tests.server import SkyCallServer

CHROMIUM_FLAGS = [
    '--use-fake-device-for-media-stream',    # a synthetic camera and a beep
    '--use-fake-ui-for-media-stream',        # no permission prompt
    '--allow-loopback-in-peer-connection',   # ICE over lo, the only interface some machines have
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-gpu',
]


def chromium_path() -> str:
    path = shutil.which('chromium')
    if path is None:
        pytest.exit('Debian\'s chromium is not installed: run `make test` (it installs it).', returncode=1)
    return path


@pytest.fixture(scope='session')
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope='session')
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS,
                                         chromium_sandbox=False)
    yield browser
    browser.close()


@pytest.fixture(scope='session')
def browser_without_media(playwright: Playwright) -> Iterator[Browser]:
    """A Chromium with a (fake) camera but no permission to use it: getUserMedia is refused."""
    flags = [f for f in CHROMIUM_FLAGS if f != '--use-fake-ui-for-media-stream']
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags, chromium_sandbox=False)
    yield browser
    browser.close()


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallServer]:
    server = SkyCallServer()
    yield server
    server.stop()


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


@pytest.fixture
def person(browser: Browser, server: SkyCallServer) -> Iterator[Callable[..., Person]]:
    """Make people; each test fails on any uncaught JavaScript error in any of their pages."""
    people: list[Person] = []

    def make(name: str, in_browser: Browser | None = None, **context_options: object) -> Person:
        options = {'base_url': server.url, **context_options}
        context = (in_browser or browser).new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        people.append(Person(context, name))
        return people[-1]

    yield make
    errors = {p.name: p.errors for p in people if p.errors}
    for p in people:
        p.context.close()
    assert not errors, f'uncaught JavaScript errors: {errors}'
