"""One abuser must not slow other people's calls (issue 11, item 11): page views and socket handshakes per address.

A cookieless page-view flood held a worker's event loop (each NiceGUI page build takes tens of ms), and
sockets opened and dropped at hundreds a second cost a handshake each: a bystander's signals waited
seconds. Now an address gets a budget of page views (429 beyond, no page built) and of handshakes (refused
beyond), and a worker builds few pages at once (the rest wait, 503 beyond a bounded queue); other addresses
are served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from skycall.budgets import MAX_WAITING_BUILDS
from skycall.signaling import MAX_CONNECTIONS_PER_ADDRESS
from skycall.testing.net import new_address
from skycall.testing.processes import SkyCallProcess
from skycall.transport import HANDSHAKE_BURST, HANDSHAKE_RATE
from tests.raw_socket import RawSocket, Refused

PAGE_BURST = 10
PAGE_RATE = 0.05  # one page view back every 20 s: none comes back while a test runs


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallProcess]:
    """A server with the default burst of page views, refilled slowly enough to see the burst end."""
    with SkyCallProcess(page_burst=str(PAGE_BURST), page_rate=str(PAGE_RATE)).start() as server:
        yield server


@pytest.fixture
async def room(server: SkyCallProcess) -> str:
    return await server.create_room()


def browser_at(server: SkyCallProcess, address: str) -> httpx.AsyncClient:
    """A cookieless client on its own loopback address."""
    return httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=10,
                             transport=httpx.AsyncHTTPTransport(local_address=address))


@pytest.fixture
async def abuser(server: SkyCallProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_at(server, new_address()) as client:
        yield client


async def test_page_views_beyond_an_address_budget_are_refused_without_a_page(
        server: SkyCallProcess, room: str, abuser: httpx.AsyncClient) -> None:
    paths = [f'/dial/{room}', '/', f'/call/{room}', '/echo']
    served = [(await abuser.get(paths[n % len(paths)])).status_code for n in range(PAGE_BURST)]
    assert all(status != 429 for status in served), served

    refused = await abuser.get(f'/dial/{room}')
    assert refused.status_code == 429
    assert int(refused.headers['retry-after']) >= 1
    assert refused.headers['content-type'].startswith('text/plain')
    assert 'Too many page loads from your network' in refused.text
    assert 'nicegui' not in refused.text.lower()

    # Someone else is served; and the throttled address still gets what is not a page.
    async with browser_at(server, new_address()) as someone:
        assert (await someone.get(f'/dial/{room}')).status_code == 200
    assert (await abuser.get('/healthz')).status_code == 200
    assert (await abuser.post('/api/rooms')).status_code == 201


async def test_an_ipv4_address_is_one_budget_whatever_page_it_asks_for(
        server: SkyCallProcess, abuser: httpx.AsyncClient) -> None:
    statuses = [(await abuser.get('/' if n % 2 else '/echo')).status_code for n in range(PAGE_BURST + 3)]
    assert statuses[:PAGE_BURST] == [200] * PAGE_BURST
    assert statuses[PAGE_BURST:] == [429] * 3


async def test_page_builds_wait_their_turn_and_beyond_a_bounded_queue_are_refused() -> None:
    with SkyCallProcess(page_builds_max='1') as server:  # each person within their own budget
        server.start()
        clients = [browser_at(server, new_address()) for _ in range(MAX_WAITING_BUILDS + 36)]
        try:
            responses = await asyncio.gather(*(client.get('/') for client in clients))
            again = await clients[0].get('/')  # served again once nothing waits
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {200, 503}, statuses
    assert statuses.count(200) > MAX_WAITING_BUILDS  # those who waited were served
    busy = next(response for response in responses if response.status_code == 503)
    assert int(busy.headers['retry-after']) >= 1
    assert 'server is busy' in busy.text
    assert again.status_code == 200


async def open_and_drop(server: SkyCallProcess, address: str) -> bool:
    """Open an engine.io session from ``address`` and drop it at once: True if the server opened it."""
    try:
        socket = await RawSocket.open(server.url, address)
    except Refused:
        return False
    await socket.close()
    return True


async def test_rapid_handshakes_from_one_address_are_refused_while_others_connect(server: SkyCallProcess) -> None:
    address = new_address()
    burst = MAX_CONNECTIONS_PER_ADDRESS + HANDSHAKE_BURST
    started = time.monotonic()
    opened = [await open_and_drop(server, address) for _ in range(burst + 20)]
    elapsed = time.monotonic() - started
    assert all(opened[:burst - 1]), opened.count(True)  # all of its tabs at once, and some, are served
    assert opened.count(False) > 0
    assert opened.count(True) <= burst + HANDSHAKE_RATE * elapsed + 1
    assert await open_and_drop(server, new_address())  # someone else connects meanwhile
