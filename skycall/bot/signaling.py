"""The bot's side of SkyCall signaling (docs/protocol.md): a ticket over HTTP, then socket.io, like a browser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import socketio

from ..calls import room_from_reference
from ..errors import MESSAGES
from ..protocol import is_room_id
from ..signaling import SOCKETIO_PATH

HTTP_TIMEOUT = 10.0
ACK_TIMEOUT = 10.0


class BotError(Exception):
    """Why a bot could not join or stay in a call. ``kind`` picks the exit status (see cli.py)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(kw_only=True, slots=True)
class Peer:
    id: str
    name: str


@dataclass(kw_only=True, slots=True)
class Joined:
    """The join acknowledgement: seated with ``peers``, or ``waiting`` (knocking) to be let in."""

    you: Peer
    peers: list[Peer]
    waiting: bool


@dataclass(kw_only=True, slots=True)
class PeerJoined:
    peer: Peer


@dataclass(kw_only=True, slots=True)
class PeerLeft:
    peer: Peer
    reason: str


@dataclass(kw_only=True, slots=True)
class Knock:
    """Someone wants to join; ``ended`` when that knock is over (answered, declined, cancelled)."""

    peer: Peer
    ended: bool = False


@dataclass(kw_only=True, slots=True)
class Admission:
    """The answer to our own knock: ``admitted`` (join again) or declined, ``by`` whom."""

    admitted: bool
    by: str


@dataclass(kw_only=True, slots=True)
class Signal:
    """A relayed signal: exactly one of description, candidate (None means end of candidates), renegotiate."""

    sender: str
    description: Any = None
    candidate: Any = None
    renegotiate: bool = False


@dataclass(kw_only=True, slots=True)
class ChatMessage:
    sender: str
    name: str
    text: str
    ts: float


@dataclass(kw_only=True, slots=True)
class ServerError:
    code: str
    message: str


@dataclass(kw_only=True, slots=True)
class Disconnected:
    reason: str


Event = PeerJoined | PeerLeft | Knock | Admission | Signal | ChatMessage | ServerError | Disconnected


def parse_target(target: str, room: str | None = None) -> tuple[str, str]:
    """``(server URL, room id)`` from an invite link, or from a server URL and a room id."""
    parts = urlsplit(target.strip())
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise BotError('usage', f'Not a SkyCall address: {target!r} (expected http(s)://host[:port]/dial/<room>).')
    server = f'{parts.scheme}://{parts.netloc}'
    found = room.strip() if room else room_from_reference(target) if '/dial/' in parts.path else None
    if not found or not is_room_id(found):
        raise BotError('usage', 'Give an invite link (…/dial/<room>) or a server URL and a room id.')
    return server, found


class Signaling:
    """Joins one room and relays events to ``on_event``; ``send``, ``chat`` and ``close`` go the other way.

    Either fetches a ticket for ``name`` from ``POST /api/rooms/{room}/tickets`` or uses ``ticket``.
    """

    def __init__(self, server: str, room: str, name: str, on_event: Callable[[Event], None], *,
                 ticket: str | None = None, local_address: str | None = None) -> None:
        self.server = server.rstrip('/')
        self.room = room
        self.name = name
        self.ticket = ticket
        self.on_event = on_event
        self.local_address = local_address
        self.sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False,
                                        handle_sigint=False, http_session=self._http)
        self._closing = False
        self.sio.on('peer-joined', lambda data: self._post(PeerJoined(peer=_peer(data))))
        self.sio.on('peer-left', lambda data: self._post(PeerLeft(peer=_peer(data), reason=_str(data, 'reason'))))
        self.sio.on('knock', lambda data: self._post(Knock(peer=_peer(data))))
        self.sio.on('knock-ended', lambda data: self._post(Knock(peer=_peer(data), ended=True)))
        self.sio.on('admitted', lambda data: self._post(Admission(admitted=True, by=_str(data, 'by'))))
        self.sio.on('declined', lambda data: self._post(Admission(admitted=False, by=_str(data, 'by'))))
        self.sio.on('signal', self._on_signal)
        self.sio.on('chat', self._on_chat)
        self.sio.on('error', lambda data: self._post(ServerError(code=_str(data, 'code'),
                                                                 message=_str(data, 'message'))))
        self.sio.on('disconnect', self._on_disconnect)

    async def connect(self) -> Joined:
        """Get a ticket, open the socket and join; raises BotError with a clear message on any refusal."""
        self.ticket = self.ticket or await self._fetch_ticket()
        try:
            await self.sio.connect(self.server, socketio_path=SOCKETIO_PATH, transports=['websocket'],
                                   wait_timeout=HTTP_TIMEOUT)
        except (socketio.exceptions.ConnectionError, OSError) as error:
            raise BotError('unreachable', f'Cannot reach the signaling server at {self.server}: {error}') from None
        return await self.join()

    async def join(self) -> Joined:
        """Send ``join`` with our ticket: at the start, and again once let in after knocking."""
        reply = await self._call('join', {'ticket': self.ticket})
        you, peers = reply.get('you') or {}, reply.get('peers') or []
        return Joined(you=_peer(you), peers=[_peer(p) for p in peers if isinstance(p, dict)],
                      waiting=reply.get('waiting') is True)

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        if self.sio.connected:
            await self.sio.emit('signal', {'to': to, **payload})

    async def chat(self, text: str) -> None:
        await self._call('chat', {'text': text})

    async def answer(self, peer_id: str, admit: bool) -> None:
        """Let someone knocking in, or turn them away. Someone else may have replied first: no error then."""
        if self.sio.connected:
            await self.sio.emit('answer' if admit else 'decline', {'id': peer_id})

    async def state(self, audio: bool, video: bool) -> None:
        """Tell the room whether we send sound and picture (shown as a muted mark or initials)."""
        if self.sio.connected:
            await self.sio.emit('state', {'audio': audio, 'video': video})

    async def close(self) -> None:
        """Leave the room (when still connected) and close the socket."""
        self._closing = True
        if self.sio.connected:
            try:
                await self.sio.call('leave', {}, timeout=2)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                pass  # the server notices the disconnect below anyway
            await self.sio.disconnect()

    async def _fetch_ticket(self) -> str:
        url = f'{self.server}/api/rooms/{quote(self.room, safe="")}/tickets'
        try:
            async with self._http() as http, http.post(url, json={'name': self.name}) as response:
                body = await response.json(content_type=None) if response.content_length != 0 else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise BotError('unreachable', f'Cannot reach SkyCall at {self.server}: {error or type(error).__name__}') \
                from None
        body = body if isinstance(body, dict) else {}
        if status == 200 and isinstance(body.get('ticket'), str):
            return str(body['ticket'])
        code = str(body.get('code', ''))
        if status == 404 and code == 'no-such-room':
            raise BotError('no-such-room', f'{MESSAGES["no-such-room"]} (room {self.room} on {self.server})')
        if status == 404:
            raise BotError('unreachable', f'{self.server} does not look like a SkyCall server (HTTP 404).')
        message = str(body.get('message') or f'HTTP {status}')
        raise BotError('refused', f'SkyCall refused a ticket: {message}')

    def _http(self) -> aiohttp.ClientSession:
        """An HTTP session, from ``local_address`` when one is given (load tests from many loopback addresses)."""
        connector = aiohttp.TCPConnector(local_addr=(self.local_address, 0)) if self.local_address else None
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))

    async def _call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = await self.sio.call(event, data, timeout=ACK_TIMEOUT)
        except socketio.exceptions.TimeoutError:
            raise BotError('unreachable', f'The server did not answer "{event}" in time.') from None
        except socketio.exceptions.BadNamespaceError:
            raise BotError('unreachable', 'Lost the connection to the signaling server.') from None
        if not isinstance(reply, dict) or not reply.get('ok'):
            reply = reply if isinstance(reply, dict) else {}
            code = str(reply.get('code', 'bad-message'))
            kind = 'no-such-room' if code == 'no-such-room' else 'refused'
            raise BotError(kind, str(reply.get('message') or MESSAGES.get(code, code)))
        return reply

    def _on_signal(self, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get('from'), str):
            return
        self._post(Signal(sender=data['from'], description=data.get('description'),
                          candidate=data.get('candidate'), renegotiate=data.get('renegotiate') is True))

    def _on_chat(self, data: Any) -> None:
        if isinstance(data, dict):
            ts = data.get('ts')
            self._post(ChatMessage(sender=_str(data, 'from'), name=_str(data, 'name'), text=_str(data, 'text'),
                                   ts=float(ts) if isinstance(ts, int | float) else 0.0))

    def _on_disconnect(self, reason: Any = None) -> None:
        if not self._closing:
            self._post(Disconnected(reason=str(reason or 'connection lost')))

    def _post(self, event: Event) -> None:
        self.on_event(event)


def _str(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ''


def _peer(data: Any) -> Peer:
    return Peer(id=_str(data, 'id'), name=_str(data, 'name'))

