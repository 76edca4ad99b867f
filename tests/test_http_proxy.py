"""The shipped HAProxy configuration (deploy/haproxy.cfg.template, rendered by deploy/cluster.py) as a
client meets it: valid, slow headers cut off, oversized bodies refused, per-source connections and
request rates capped, while other sources are still served.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skycall.testing.cluster import Cluster, ready_cluster
from skycall.testing.net import new_address

ROOT = Path(__file__).resolve().parent.parent
HAPROXY = '/usr/sbin/haproxy'
HEADER_TIMEOUT = 5.0  # `timeout http-request` in the template
MAX_CONNECTIONS = 200  # sc0_conn_cur per source
MAX_REQUESTS = 1000  # sc0_http_req_rate per source in 10 s
HEALTHZ = b'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'


@pytest.fixture(scope='module')
def cluster() -> Iterator[Cluster]:
    with ready_cluster(1, 'skycall-proxy-tests-secret-0123456789', ROOT / '.pytest_cache' / 'http-proxy') as running:
        yield running


def connect(cluster: Cluster, source: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((cluster.host, cluster.port), timeout=timeout, source_address=(source, 0))
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the proxy sends until it closes the connection (a reset counts as a close)."""
    answer = b''
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def answer_to(cluster: Cluster, source: str, request: bytes) -> bytes:
    """What the proxy answers to ``request`` on a new connection (b'' if it closes or resets it unanswered)."""
    try:
        with connect(cluster, source) as sock:
            sock.sendall(request)
            return read_until_closed(sock)
    except (ConnectionResetError, BrokenPipeError):
        return b''


def served(cluster: Cluster, source: str) -> bool:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=5, trust_env=False) as http:
        return http.get(f'{cluster.url}/healthz').status_code == 200


def test_the_rendered_configuration_is_valid(cluster: Cluster) -> None:
    rendered = cluster.log_dir / f'haproxy-{cluster.port}.cfg'
    check = subprocess.run([HAPROXY, '-c', '-f', str(rendered)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'ALERT' not in check.stdout + check.stderr


def test_slow_headers_are_cut_off(cluster: Cluster) -> None:
    with connect(cluster, new_address(), timeout=HEADER_TIMEOUT + 5) as sock:
        started = time.monotonic()
        sock.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')  # ... and the rest never comes
        answer = read_until_closed(sock)
        waited = time.monotonic() - started
    assert answer.startswith(b'HTTP/1.1 408'), answer
    assert waited < HEADER_TIMEOUT + 3


@pytest.mark.parametrize(('path', 'length'), [('/api/rooms', 16385), ('/', 1048577)])
def test_an_oversized_body_is_refused_by_the_proxy(cluster: Cluster, path: str, length: int) -> None:
    with connect(cluster, new_address()) as sock:
        sock.sendall(f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n'.encode())
        answer = read_until_closed(sock)
    assert answer.startswith(b'HTTP/1.1 413'), answer
    assert b'<h1>413' in answer  # HAProxy's own page: the body never reached a worker


def test_one_source_cannot_hold_every_connection(cluster: Cluster) -> None:
    source = new_address()
    started = time.monotonic()
    held = [connect(cluster, source) for _ in range(MAX_CONNECTIONS)]
    try:
        # The held connections are live (the proxy answers on them, and keeps them open).
        for sock in held[:3]:
            sock.sendall(HEALTHZ.replace(b'close', b'keep-alive'))
            assert sock.recv(65536).startswith(b'HTTP/1.1 200')
        if time.monotonic() - started > HEADER_TIMEOUT - 1:  # the idle ones would be cut off meanwhile
            pytest.fail('too slow to hold the connections: the machine is overloaded')
        assert answer_to(cluster, source, HEALTHZ) == b''  # closed without an answer
        assert served(cluster, new_address())  # anybody else still gets in
    finally:
        for sock in held:
            sock.close()


def test_one_source_cannot_send_requests_without_end(cluster: Cluster) -> None:
    # Requests the proxy refuses itself (413) count too; they keep the workers (and this test) fast.
    source = new_address()
    oversized = b'POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999\r\n\r\n'
    started = time.monotonic()
    answers = [answer_to(cluster, source, oversized) for _ in range(MAX_REQUESTS)]
    answers.append(answer_to(cluster, source, HEALTHZ))
    statuses = [int(answer.split(b' ', 2)[1]) for answer in answers]
    if time.monotonic() - started > 8:
        pytest.fail('too slow to test a rate over 10 s: the machine is overloaded')
    assert statuses == [413] * MAX_REQUESTS + [429]
    assert served(cluster, new_address())
