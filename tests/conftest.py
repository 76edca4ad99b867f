"""Shared fixtures: a real SkyCall server process, and a small async client for its HTTP API."""

from __future__ import annotations

import itertools
import os
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server import SkyCallServer

# NiceGUI's simulated user (tests/test_pages.py, in this process) sends `Host: test`.
os.environ.setdefault('SKYCALL_ALLOWED_HOSTS', 'test')
SECRET = 'skycall-fast-tests-secret-0123456789'
# Made once: httpx would otherwise load the CA bundle for every client it creates (about 50 ms each).
TLS = ssl.create_default_context()
_hosts = itertools.count(1)


def new_address() -> str:
    """A loopback address (127.1.x.y) that nothing else in this test run uses.

    The server limits rooms, joins and connections per client address, as it should; people on
    different machines have different addresses, and so does each person in these tests.
    """
    n = next(_hosts)
    return f'127.1.{n // 200}.{n % 200 + 1}'


class Server(SkyCallServer):
    """``python main.py`` in a child process (see tests/server.py), with the API calls the tests need."""

    def __init__(self) -> None:
        super().__init__(secret=SECRET, max_participants='2')  # the default, whatever the environment says
        self.secret = SECRET

    def http(self, local_address: str | None = None) -> httpx.AsyncClient:
        """An HTTP client for this server, optionally from another loopback address (127.x.y.z)."""
        transport = httpx.AsyncHTTPTransport(local_address=local_address, verify=TLS, trust_env=False)
        return httpx.AsyncClient(base_url=self.url, timeout=5, transport=transport, trust_env=False)

    async def create_room(self) -> str:
        async with self.http(local_address=new_address()) as client:
            response = await client.post('/api/rooms')
        assert response.status_code == 201, response.text
        return str(response.json()['room'])

    async def ticket(self, room: str, name: str) -> dict[str, str]:
        """``{"ticket", "peer", "name"}`` for ``name`` in ``room``; fails the test on any refusal."""
        response = await self.request_ticket(room, {'name': name})
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def request_ticket(self, room: str, body: Any) -> httpx.Response:
        async with self.http() as client:
            return await client.post(f'/api/rooms/{room}/tickets', json=body)


@pytest.fixture(scope='module')
def server() -> Iterator[Server]:
    """One SkyCall process per test module, started when first needed and stopped at the module's end.

    tests/server.py removes PYTEST_CURRENT_TEST from the child's environment (else NiceGUI in the child
    believes it runs under its own test plugin) and waits until GET /healthz answers.
    """
    server = Server()
    try:
        yield server
    finally:
        server.stop()
