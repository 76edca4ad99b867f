"""Requests the HTTP API must refuse cleanly: oversized bodies (413) and input that once raised (400).

A real server process; bodies are written on raw sockets where httpx would not send them as they are
(a declared length with no body, an unfinished chunked body).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from skycall.security import API_BODY_LIMIT

if TYPE_CHECKING:
    from skycall.testing.processes import SkyCallProcess as Server

ANSWER_WITHIN = 5.0  # seconds: today's server waited forever for a body it was promised


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send ``request`` as is and return the answer: status line, headers and a Content-Length body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(request)
        answer = b''
        while not complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b'\r\n\r\n')
    if not separator:
        return False
    lengths = [line.split(b':', 1)[1] for line in head.lower().split(b'\r\n') if line.startswith(b'content-length:')]
    return len(body) >= (int(lengths[0]) if lengths else 0)


def status_of(answer: bytes) -> int:
    return int(answer.split(b' ', 2)[1])


def no_traceback(server: Server) -> None:
    log = server.log.read_text()
    assert 'Traceback' not in log and 'Exception in ASGI' not in log, log[-2000:]


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(server: Server) -> None:
    room = await server.create_room()
    head = (f'POST /api/rooms/{room}/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            'Content-Type: application/json\r\nContent-Length: 200000000\r\n\r\n')
    answer = raw_exchange(server.url, head.encode())
    assert status_of(answer) == 413, answer
    assert (await server.ticket(room, 'Ada'))['name'] == 'Ada'


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(server: Server) -> None:
    room = await server.create_room()
    chunk = b'x' * (API_BODY_LIMIT // 2 + 1)
    # Two chunks pass the limit; the body never ends, so only the limit can answer.
    request = (f'POST /api/rooms/{room}/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n'
               'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n').encode()
    request += 2 * (f'{len(chunk):x}\r\n'.encode() + chunk + b'\r\n')
    answer = raw_exchange(server.url, request)
    assert status_of(answer) == 413, answer
    assert b'too-large' in answer
    no_traceback(server)


async def test_a_body_just_under_the_limit_is_read(server: Server) -> None:
    room = await server.create_room()
    padding = 'x' * (API_BODY_LIMIT - 100)
    response = await server.request_ticket(room, {'name': 'Ada', 'padding': padding})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize('body', [
    b'{"name": ' + b'[' * 5000 + b']' * 5000 + b'}',  # deeper than Python's recursion limit
    b'[' * 5000 + b']' * 5000,
    b'{"name": "\\ud800"}',  # a lone surrogate: valid JSON, not encodable as UTF-8
    b'{"name": "Ada\\udfff"}',
    b'{"name": "\xff\xfe"}',  # not UTF-8 at all
], ids=['nested-name', 'nested-body', 'lone-surrogate', 'trailing-surrogate', 'not-utf8'])
async def test_bad_input_is_a_clear_400_not_a_crash(server: Server, body: bytes) -> None:
    room = await server.create_room()
    async with server.http() as client:
        response = await client.post(f'/api/rooms/{room}/tickets', content=body,
                                     headers={'Content-Type': 'application/json'})
    assert response.status_code == 400, response.text
    assert response.json()['code'] == 'bad-message'
    no_traceback(server)
