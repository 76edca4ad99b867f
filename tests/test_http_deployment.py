"""Deployment defaults as a client sees them: Host check, same-origin API, trusted proxies, per-/64 limits,
Secure cookies over https, and no start without a shared secret when workers share Redis.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from skycall.addresses import client_key
from skycall.testing.net import free_port, new_address
from skycall.testing.processes import ROOT, SkyCallProcess

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server

PROXY = '127.0.0.5'  # the one address the second server believes X-Forwarded-* from
PUBLIC_HOST = 'call.example.org'
ROOMS_PER_ADDRESS = 30  # skycall.calls.ROOM_LIMIT


@pytest.fixture(scope='module')
def proxied() -> Iterator[SkyCallProcess]:
    """A server configured as behind a proxy at PROXY that serves PUBLIC_HOST."""
    with SkyCallProcess(forwarded_allow_ips=PROXY, allowed_hosts=PUBLIC_HOST).start() as server:
        yield server


def client(url: str, local_address: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local_address)
    return httpx.Client(base_url=url, transport=transport, timeout=5, trust_env=False)


# --- Host header ----------------------------------------------------------------------------------

@pytest.mark.parametrize('path', ['/', '/dial/AAAAAAAAAAAAAAAAAAAAAA', '/api/rooms'])
def test_a_forged_host_is_refused(server: Server, path: str) -> None:
    with client(server.url, new_address()) as http:
        response = http.request('POST' if path.startswith('/api') else 'GET', path,
                                headers={'Host': 'evil.example'})
    assert response.status_code == 400


@pytest.mark.parametrize('host', ['127.0.0.1', 'localhost', '[::1]'])
def test_the_local_names_are_served(server: Server, host: str) -> None:
    with client(server.url) as http:
        response = http.get('/', headers={'Host': f'{host}:{server.port}'})
    assert response.status_code == 200


def test_health_probes_answer_whatever_the_host(server: Server) -> None:
    with client(server.url) as http:
        assert http.get('/healthz', headers={'Host': 'backend-7'}).status_code == 200


def test_a_configured_host_is_served_and_others_are_not(proxied: SkyCallProcess) -> None:
    with client(proxied.url) as http:
        assert http.get('/', headers={'Host': PUBLIC_HOST}).status_code == 200
        assert http.get('/', headers={'Host': f'www.{PUBLIC_HOST}'}).status_code == 400


# --- cross-site POSTs -----------------------------------------------------------------------------

@pytest.mark.parametrize('headers', [
    {'Sec-Fetch-Site': 'cross-site'},
    {'Sec-Fetch-Site': 'same-site'},
    {'Origin': 'https://evil.example'},
    {'Origin': 'null'},
], ids=['cross-site', 'same-site', 'other-origin', 'null-origin'])
def test_a_post_from_another_site_is_refused(server: Server, headers: dict[str, str]) -> None:
    with client(server.url, new_address()) as http:
        response = http.post('/api/rooms', headers=headers)
    assert response.status_code == 403
    assert response.json()['ok'] is False


@pytest.mark.parametrize('same_origin', [
    {'Sec-Fetch-Site': 'same-origin', 'Origin': 'http://{host}'},
    {'Sec-Fetch-Site': 'none'},
    {},  # not a browser (the bot, curl)
], ids=['same-origin', 'typed-by-the-user', 'no-browser'])
def test_a_post_from_the_site_itself_or_no_browser_is_served(server: Server, same_origin: dict[str, str]) -> None:
    host = f'127.0.0.1:{server.port}'
    headers = {name: value.format(host=host) for name, value in same_origin.items()}
    with client(server.url, new_address()) as http:
        assert http.post('/api/rooms', headers={'Host': host, **headers}).status_code == 201


# --- behind a proxy -------------------------------------------------------------------------------

def start_rooms(proxied: SkyCallProcess, forwarded_for: str, count: int, local_address: str = PROXY) -> list[int]:
    with client(proxied.url, local_address) as http:
        return [http.post('/api/rooms', headers={'Host': PUBLIC_HOST, 'X-Forwarded-For': forwarded_for}).status_code
                for _ in range(count)]


def test_the_trusted_proxy_tells_people_apart(proxied: SkyCallProcess) -> None:
    assert start_rooms(proxied, '192.0.2.1', ROOMS_PER_ADDRESS + 1)[-1] == 429
    assert start_rooms(proxied, '192.0.2.2', 1) == [201]  # someone else behind the same proxy


def test_an_ipv6_slash_64_counts_as_one_address(proxied: SkyCallProcess) -> None:
    statuses = [start_rooms(proxied, f'2001:db8:0:1::{n:x}', 1)[0] for n in range(1, ROOMS_PER_ADDRESS + 2)]
    assert statuses == [201] * ROOMS_PER_ADDRESS + [429]
    assert start_rooms(proxied, '2001:db8:0:2::1', 1) == [201]  # the next /64 is someone else


def test_forwarded_headers_from_anyone_else_are_ignored(proxied: SkyCallProcess) -> None:
    address = new_address()
    statuses = [start_rooms(proxied, f'198.51.100.{n}', 1, address)[0] for n in range(1, ROOMS_PER_ADDRESS + 2)]
    assert statuses[-1] == 429  # every forged X-Forwarded-For counted as the sender's own address


def test_no_response_sets_a_cookie_over_https_or_http(proxied: SkyCallProcess) -> None:
    """The server keeps no session: a cookie it set could leak over http; the page's own is Secure over https."""
    with client(proxied.url, PROXY) as http:
        for proto in ('https', 'http'):
            response = http.get('/', headers={'Host': PUBLIC_HOST, 'X-Forwarded-Proto': proto})
            assert response.status_code == 200
            assert response.headers.get_list('set-cookie') == []


def test_client_keys() -> None:
    assert client_key('192.0.2.7') == '192.0.2.7'
    assert client_key('2001:db8:1:2:aaaa:bbbb:cccc:dddd') == client_key('2001:db8:1:2::1') == '2001:db8:1:2::/64'
    assert client_key('2001:db8:1:3::1') != client_key('2001:db8:1:2::1')
    assert client_key('::ffff:192.0.2.7') == '192.0.2.7'
    assert client_key('?') == '?'


# --- the shared secret ----------------------------------------------------------------------------

def test_workers_sharing_redis_refuse_to_start_without_a_secret() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {'PYTEST_CURRENT_TEST', 'SKYCALL_SECRET'}}
    env.update({'SKYCALL_REDIS_URL': 'redis://127.0.0.1:6379/0', 'SKYCALL_PORT': str(free_port()),
                'SKYCALL_REDIS_PREFIX': 'skycall-test-nosecret:'})
    process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f'SkyCall started without a shared secret:\n{output.decode()[-2000:]}')
    assert process.returncode != 0
    assert b'SKYCALL_SECRET' in output
    assert b'Traceback' not in output


def websocket_status(server: Server, path: str, host: str) -> bytes:
    """The status line answering a websocket upgrade of ``path`` for ``host``."""
    upgrade = (f'GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
        sock.sendall(upgrade.encode())
        return sock.recv(65536).split(b'\r\n', 1)[0]


@pytest.mark.parametrize('path', ['/signal/socket.io/?EIO=4&transport=websocket',
                                  '/_nicegui_ws/socket.io/?EIO=4&transport=websocket'])
def test_a_websocket_for_a_forged_host_is_refused(server: Server, path: str) -> None:
    assert websocket_status(server, path, f'127.0.0.1:{server.port}').startswith(b'HTTP/1.1 101')
    refused = websocket_status(server, path, 'evil.example')
    assert refused.startswith(b'HTTP/1.1 4'), refused  # not 101 Switching Protocols
    assert 'Traceback' not in server.log.read_text()
