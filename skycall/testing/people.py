"""People in a call as socket.io clients of the signaling server, speaking the raw protocol (docs/protocol.md).

skycall-bot's own client (skycall/bot/signaling.py) turns every event into a typed one and every
refusal into an exception; tests and benchmarks need the wire itself: the exact payloads, in order,
refusals as the server sends them, and handlers of their own on hot events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import socketio

from ..signaling import SOCKETIO_PATH
from .net import new_address

WAIT = 5.0  # seconds to wait for anything the server should do at once
NOTHING = object()  # "send the event without any data"


class Participant:
    """One socket.io client, from its own ``address``: what it sends, and (with ``record``) everything it
    receives, in order, in ``inbox`` and ``received``. Events given a handler with ``on`` go only there.
    """

    def __init__(self, url: str, name: str = 'someone', address: str | None = None, *,
                 wait: float = WAIT, record: bool = True) -> None:
        self.url = url
        self.name = name
        self.address = address or new_address()
        self.wait = wait
        self.record = record
        self.sio = socketio.AsyncClient(
            reconnection=False,
            http_session=lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.address, 0))),
        )
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.received: list[tuple[str, Any]] = []
        self.gone = asyncio.Event()
        self.admitted = asyncio.Event()
        self._departures: dict[str, asyncio.Event] = {}
        self.sids: set[str] = set()
        self.id = ''
        self.ticket = ''
        self.joined: dict[str, Any] = {}
        self.you: dict[str, str] = {}
        self.sio.on('*', self._on_event)
        self.sio.on('disconnect', self._on_disconnect)

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Handle ``event`` with ``handler`` instead of recording it."""
        self.sio.on(event, handler)

    async def connect(self, headers: dict[str, str] | None = None, url: str | None = None) -> Participant:
        """Connect to the server, or to ``url`` (one worker of several)."""
        await self.sio.connect(url or self.url, headers=headers or {}, transports=['websocket'],
                               socketio_path=SOCKETIO_PATH, wait_timeout=self.wait)
        self.sids = {sid for sid in (self.sio.get_sid('/'), self.sio.eio.sid) if sid}
        return self

    async def call(self, event: str, data: Any = NOTHING) -> Any:
        """Send ``event`` and return the server's acknowledgement."""
        if data is NOTHING:
            return await self.sio.call(event, timeout=self.wait)
        return await self.sio.call(event, data, timeout=self.wait)

    async def enter(self, ticket: dict[str, str], let_in_by: Participant | None = None) -> dict[str, Any]:
        """Join with a ticket from the API and be seated: at once, or after knocking, when ``let_in_by``
        (a member of the room) answers. Asserts every step as the protocol has it."""
        self.ticket, self.id = ticket['ticket'], ticket['peer']
        reply = await self.call('join', {'ticket': self.ticket})
        if let_in_by is not None:
            assert reply == {'ok': True, 'waiting': True, 'you': reply['you'], 'peers': []}, reply
            assert await let_in_by.expect('knock') == reply['you']
            await let_in_by.answer(self.id)
            assert await self.expect('admitted') == {'by': let_in_by.you['name']}
            assert await let_in_by.expect('knock-ended') == {**reply['you'], 'reason': 'answered'}
            reply = await self.call('join', {'ticket': self.ticket})
        assert reply == {'ok': True, 'waiting': False, 'you': reply['you'], 'peers': reply['peers'],
                         'history': reply['history']}, reply
        self.joined, self.you = reply, reply['you']
        return reply

    async def join_or_knock(self, ticket: dict[str, str]) -> bool:
        """Join; True when seated, False when knocking (someone in the room must answer)."""
        self.ticket, self.id = ticket['ticket'], ticket['peer']
        reply = await self.call('join', {'ticket': self.ticket})
        if not (isinstance(reply, dict) and reply.get('ok')):
            raise RuntimeError(f'join refused: {reply}')
        return not reply.get('waiting', False)

    async def answer(self, peer: str) -> None:
        """Let ``peer``, who knocks, in."""
        reply = await self.call('answer', {'id': peer})
        assert reply == {'ok': True}, reply

    async def say(self, text: str) -> dict[str, Any]:
        reply = await self.call('chat', {'text': text})
        assert reply.get('ok') is True, reply
        return dict(reply)

    async def fails(self, event: str, data: Any, code: str) -> dict[str, Any]:
        """Send ``event``; the acknowledgement must carry ``code``, and no ``error`` event repeat it (it would
        have arrived before the acknowledgement)."""
        errors = sum(received == 'error' for received, _ in self.received)
        reply = await self.call(event, data)
        assert reply == {'ok': False, 'code': code, 'message': reply['message'], 'event': event}, reply
        assert reply['message']
        assert sum(received == 'error' for received, _ in self.received) == errors, 'the error came twice'
        return dict(reply)

    async def next(self) -> tuple[str, Any]:
        """The next event received, whatever it is."""
        return await asyncio.wait_for(self.inbox.get(), self.wait)

    async def expect(self, event: str) -> Any:
        """The payload of the next event received, which must be ``event``."""
        received, data = await self.next()
        assert received == event, f'{self.name} expected {event!r}, got {received!r}: {data!r}'
        return data

    def heard_nothing_more(self) -> bool:
        """True when nothing is waiting to be read; meaningful once a later message has arrived."""
        return self.inbox.empty()

    async def catch_up(self) -> None:
        """Say something and read until it comes back: whatever was sent to us before has arrived."""
        marker = (await self.say(f'{self.name} catching up'))['id']
        while not ((received := await self.next())[0] == 'chat' and received[1]['id'] == marker):
            pass

    async def saw_leave(self, peer: str) -> None:
        """Wait until the server has said that ``peer`` left the room (whether recorded or not)."""
        await asyncio.wait_for(self._departures.setdefault(peer, asyncio.Event()).wait(), self.wait)
        del self._departures[peer]

    async def hangs_up(self) -> None:
        reply = await self.call('leave', {})
        assert reply == {'ok': True}, reply

    async def close(self) -> None:
        """Disconnect (if connected), and close the HTTP session a refused handshake leaves open."""
        if self.sio.connected:
            await self.sio.disconnect()
            await asyncio.wait_for(self.gone.wait(), self.wait)
        http = self.sio.eio.http
        if http is not None and not http.closed:
            await http.close()

    async def _on_event(self, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else list(args)
        if event == 'admitted':
            self.admitted.set()
        elif event == 'peer-left' and isinstance(data, dict):
            self._departures.setdefault(str(data.get('id')), asyncio.Event()).set()
        if self.record:
            self.received.append((event, data))
            self.inbox.put_nowait((event, data))

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.gone.set()


class Server(Protocol):
    """Where People get their tickets: a SkyCall process or a cluster's load balancer."""

    url: str

    async def ticket(self, room: str, name: str) -> dict[str, str]: ...


class People:
    """Makes participants for one test, and disconnects whoever is left at its end."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.everyone: list[Participant] = []

    async def connect(self, name: str = 'someone', *, address: str | None = None,
                      headers: dict[str, str] | None = None, url: str | None = None) -> Participant:
        person = Participant(self.server.url, name, address)
        self.everyone.append(person)
        return await person.connect(headers, url)

    async def join(self, room: str, name: str, *, let_in_by: Participant | None = None,
                   address: str | None = None, url: str | None = None) -> Participant:
        """A person gets a ticket for ``room`` over HTTP, connects (to ``url``, a worker, if given) and
        joins: seated at once in an empty room, else after knocking, when ``let_in_by`` answers."""
        ticket = await self.server.ticket(room, name)
        person = await self.connect(name, address=address, url=url)
        await person.enter(ticket, let_in_by=let_in_by)
        return person

    async def close(self) -> None:
        for person in self.everyone:
            await person.close()
