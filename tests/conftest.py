"""Fixtures shared by the fast tests: a real SkyCall server process, people on it, a Redis of one's own.

The helpers behind them live in skycall.testing (also used by the end-to-end tests and the benchmarks).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from nicegui.testing import User

from skycall.testing.people import People, Server
from skycall.testing.processes import SkyCallProcess
from skycall.testing.redis_process import RedisProcess
from tests.cookies import with_cookie_writes

# NiceGUI's simulated user (tests/test_pages.py, in this process) sends `Host: test`.
os.environ.setdefault('SKYCALL_ALLOWED_HOSTS', 'test')
# Every server here (and the in-process pages) sees page views from 127.0.0.1 and a few addresses, far more than
# one person makes: the page-view budget is for tests/test_page_budget.py to set.
os.environ.setdefault('SKYCALL_PAGE_BURST', '100000')
SECRET = 'skycall-fast-tests-secret-0123456789'


@pytest.fixture
def user(user: User) -> User:
    """NiceGUI's simulated user (in-process, no browser), whose cookies the pages can write."""
    return with_cookie_writes(user)


@pytest.fixture
def create_user(create_user: Callable[[], User]) -> Callable[[], User]:
    """Makes simulated users like ``user``."""
    return lambda: with_cookie_writes(create_user())


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallProcess]:
    """One SkyCall process per test module, started when first needed and stopped at the module's end."""
    with SkyCallProcess(secret=SECRET, max_participants='2').start() as server:  # 2: whatever the environment says
        yield server


@pytest.fixture
async def people(server: Server) -> AsyncIterator[People]:
    """Participants for one test (on whatever ``server`` the module uses); whoever is left leaves at its end."""
    crowd = People(server)
    yield crowd
    await crowd.close()


@pytest.fixture
async def room(server: Server) -> str:
    """A new room on the module's server."""
    return await server.create_room()


@pytest.fixture
async def other_room(server: Server) -> str:
    """A second room on the module's server, for what must not cross between rooms."""
    return await server.create_room()


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A fresh redis-server of this test's own, to stop, pause and start again (empty after each start)."""
    server = RedisProcess(keep_data=False).start()
    try:
        yield server
    finally:
        server.remove()
