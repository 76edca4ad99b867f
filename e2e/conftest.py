"""Real SkyCall servers and one real Chromium (Debian's), shared by the end-to-end tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from skycall.testing.browser import Person, launch
from skycall.testing.processes import SkyCallProcess

# Every browser context comes from 127.0.0.1 and loads many pages: far more than one person's page-view budget.
os.environ.setdefault('SKYCALL_PAGE_BURST', '100000')


@pytest.fixture(scope='session')
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


def _launch(playwright: Playwright, camera_allowed: bool) -> Browser:
    try:
        return launch(playwright, camera_allowed=camera_allowed)
    except RuntimeError as error:
        pytest.exit(str(error), returncode=1)


@pytest.fixture(scope='session')
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = _launch(playwright, camera_allowed=True)
    yield browser
    browser.close()


@pytest.fixture(scope='session')
def browser_without_media(playwright: Playwright) -> Iterator[Browser]:
    """A Chromium with a (fake) camera but no permission to use it: getUserMedia is refused."""
    browser = _launch(playwright, camera_allowed=False)
    yield browser
    browser.close()


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallProcess]:
    with SkyCallProcess().start() as server:
        yield server


@pytest.fixture
def person(browser: Browser, server: SkyCallProcess) -> Iterator[Callable[..., Person]]:
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
