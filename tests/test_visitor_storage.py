"""What the server keeps for a visitor: nothing before Join, and nothing that never expires (issue 11, items 4, 5).

Real server processes: one in Redis mode on a Redis of the test's own (every client and key there is the
server's), one in memory mode with NiceGUI's storage directory pointed at a directory of the test's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from deploy.cluster import REDIS_CLIENTS_PER_WORKER, check_maxclients
from skycall.testing.people import People
from skycall.testing.processes import SkyCallProcess
from skycall.testing.redis_process import RedisProcess

SECRET = 'skycall-visitor-tests-secret-0123456789'
VISITS = 300


class ProcessWithStoragePath(SkyCallProcess):
    """A SkyCall process whose NiceGUI storage directory (NICEGUI_STORAGE_PATH) is ``storage``."""

    def __init__(self, storage: Path, **settings: str) -> None:
        super().__init__(**settings)
        self.storage = storage

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, 'NICEGUI_STORAGE_PATH': str(self.storage)}


@pytest.fixture(scope='module')
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess(keep_data=False).start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope='module')
def redis_mode(redis_server: RedisProcess) -> Iterator[SkyCallProcess]:
    with SkyCallProcess(secret=SECRET, redis_url=redis_server.url, max_participants='2').start() as server:
        server.wait_until('/readyz')
        yield server


def redis_clients(redis_server: RedisProcess) -> int:
    """How many clients Redis serves, not counting the one that asks."""
    with redis.Redis.from_url(redis_server.url) as client:
        return len(client.client_list()) - 1


async def cookieless_visits(server: SkyCallProcess, room: str, visits: int) -> list[httpx.Response]:
    """``visits`` requests without cookies, a third each: /healthz, the ticket API, the invite page."""
    requests = [('GET', '/healthz', None), ('POST', f'/api/rooms/{room}/tickets', {'name': 'Visitor'}),
                ('GET', f'/dial/{room}', None)]
    responses = []
    async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as http:
        for i in range(visits):
            method, path, body = requests[i % len(requests)]
            http.cookies.clear()  # every visit a new visitor, as HAProxy's health checks are
            response = await http.request(method, path, json=body)
            assert response.status_code == 200, f'{method} {path}: {response.status_code}'
            responses.append(response)
    return responses


async def test_cookieless_requests_open_no_redis_connections(redis_mode: SkyCallProcess,
                                                             redis_server: RedisProcess) -> None:
    """Health checks, API calls and invite pages without a cookie leave Redis's client count flat."""
    room = await redis_mode.create_room()
    await cookieless_visits(redis_mode, room, 6)  # the store's own connections are open after these
    before = redis_clients(redis_server)

    responses = await cookieless_visits(redis_mode, room, VISITS)

    after = redis_clients(redis_server)
    assert after <= before + 2, f'{VISITS} cookieless requests raised Redis clients from {before} to {after}'
    assert after <= REDIS_CLIENTS_PER_WORKER, 'deploy/cluster.py tells Redis to expect fewer'
    assert not [r.request.url.path for r in responses if 'set-cookie' in r.headers], 'nothing stored before Join'


async def test_every_redis_key_expires_after_a_call(redis_mode: SkyCallProcess, redis_server: RedisProcess) -> None:
    """A whole call (an invite visited, a knock answered, chat, hang-ups) leaves only keys with a TTL."""
    room = await redis_mode.create_room()
    await cookieless_visits(redis_mode, room, 6)
    people = People(redis_mode)
    try:
        ada = await people.join(room, 'Ada')
        bob = await people.join(room, 'Bob', let_in_by=ada)
        await ada.say('hello')
        await bob.say('hello Ada')
        await bob.hangs_up()
        await ada.hangs_up()
    finally:
        await people.close()
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        keys = list(client.scan_iter())
        assert any(key.endswith(room) or room in key for key in keys), 'the call left its keys in Redis'
        forever = [key for key in keys if client.ttl(key) == -1]
    assert not forever, f'{len(forever)} keys without a TTL, e.g. {forever[:3]}'


def test_cookieless_invite_visits_leave_no_files(tmp_path: Path) -> None:
    """In memory mode, 200 invite visits write no file (NiceGUI's storage directory stays empty)."""
    storage = tmp_path / 'nicegui'
    with ProcessWithStoragePath(storage, secret=SECRET).start() as server:
        room = server.new_room()
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
            for _ in range(200):
                http.cookies.clear()
                response = http.get(f'/dial/{room}')
                assert response.status_code == 200
                assert 'set-cookie' not in response.headers, 'nothing stored before Join'
    # Stopped (SIGTERM): NiceGUI's shutdown waits for the storage writes still under way.
    written = list(storage.rglob('*')) if storage.exists() else []
    assert not written, f'files in NiceGUI storage after 200 visits: {len(written)}'


def test_the_cluster_warns_of_a_redis_that_takes_too_few_clients(redis_server: RedisProcess) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        original = client.config_get('maxclients')['maxclients']
        try:
            client.config_set('maxclients', 100)
            assert check_maxclients(redis_server.url, workers=1) is None
            warning = check_maxclients(redis_server.url, workers=3)
            assert warning is not None and 'maxclients is 100' in warning
        finally:
            client.config_set('maxclients', original)
