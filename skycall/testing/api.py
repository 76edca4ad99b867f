"""SkyCall's HTTP API (POST /api/rooms, POST /api/rooms/{room}/tickets) from chosen client addresses."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx

from .net import new_address

TIMEOUT = 10.0


class ApiError(RuntimeError):
    """The API refused or failed a request that should have succeeded."""


@cache
def _tls() -> ssl.SSLContext:
    # Made once: httpx would otherwise load the CA bundle for every client it creates (about 50 ms each).
    return ssl.create_default_context()


class Api:
    """One HTTP client per client address, kept until ``close()`` (or the end of ``async with``)."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._clients: dict[str | None, httpx.AsyncClient] = {}

    def client(self, address: str | None = None) -> httpx.AsyncClient:
        """The client that connects from ``address`` (a loopback address; None: the system's choice)."""
        if address not in self._clients:
            transport = httpx.AsyncHTTPTransport(local_address=address, verify=_tls(), trust_env=False)
            self._clients[address] = httpx.AsyncClient(base_url=self.url, timeout=self.timeout, transport=transport,
                                                       trust_env=False)
        return self._clients[address]

    async def post(self, path: str, address: str | None = None, **kwargs: Any) -> httpx.Response:
        """POST, once more on a broken connection: uvicorn closes idle keep-alive connections after 5 s,
        and a request can race that close (both endpoints are safe to repeat)."""
        try:
            return await self.client(address).post(path, **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            return await self.client(address).post(path, **kwargs)

    async def create_room(self, address: str | None = None) -> str:
        """A new room's id."""
        response = await self.post('/api/rooms', address)
        if response.status_code != 201:
            raise ApiError(f'POST /api/rooms from {address}: {response.status_code} {response.text}')
        return str(response.json()['room'])

    async def request_ticket(self, room: str, body: Any, address: str | None = None) -> httpx.Response:
        """The server's response to a ticket request with ``body``, whatever it is."""
        return await self.post(f'/api/rooms/{room}/tickets', address, json=body)

    async def ticket(self, room: str, name: str, address: str | None = None) -> dict[str, str]:
        """``{"ticket", "peer", "name"}`` for ``name`` in ``room``."""
        response = await self.request_ticket(room, {'name': name}, address)
        if response.status_code != 200:
            raise ApiError(f'ticket for {room}: {response.status_code} {response.text}')
        return dict(response.json())

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class ApiCalls:
    """The API calls tests make of whatever serves SkyCall at ``url`` (one process, a cluster's load
    balancer): each call with a client of its own, in the caller's event loop; each new room from a new
    client address, as the server limits new rooms per address."""

    url: str

    def http(self, local_address: str | None = None) -> httpx.AsyncClient:
        """An HTTP client for this server, optionally from another loopback address (127.x.y.z)."""
        return Api(self.url, timeout=5).client(local_address)

    async def create_room(self) -> str:
        async with Api(self.url, timeout=5) as api:
            return await api.create_room(new_address())

    async def ticket(self, room: str, name: str) -> dict[str, str]:
        """``{"ticket", "peer", "name"}`` for ``name`` in ``room``; raises ApiError on any refusal."""
        async with Api(self.url, timeout=5) as api:
            return await api.ticket(room, name)

    async def request_ticket(self, room: str, body: Any) -> httpx.Response:
        async with Api(self.url, timeout=5) as api:
            return await api.request_ticket(room, body)
