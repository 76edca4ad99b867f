"""The signaling socket below SkyCall's namespace: what a client may send, and how many sockets it may hold.

python-socketio and python-engineio accept more than SkyCall uses, and a hostile client can turn that
against a worker (issue 11):

- binary: a packet may declare up to 10^10 binary attachments, which python-socketio keeps until the
  last one arrives (300 MB in 5 s). SkyCall never sends binary, so binary frames and packets are refused.
- malformed frames: each one logged a full traceback and left the connection open (22 MB of log in
  3 s). A connection is now closed at its first malformed frame or packet, with one log line, and
  those lines are rate-limited per address and per worker (LogThrottle).
- sockets that never connect to the namespace: the namespace counted connections per address, so a
  client holding bare engine.io sessions used up the worker's file descriptors. Sessions are counted
  and capped per address here, when engine.io opens them, and closed when they have not connected to
  the namespace within NAMESPACE_TIMEOUT seconds.
- handshakes: sockets opened and dropped at once cost a handshake each, ~300 a second from three addresses
  (the bystander's signals waited 0.5 s). Each address has a budget of handshakes (HANDSHAKE_BURST more
  than the sockets it may hold, refilled at HANDSHAKE_RATE a second: a reconnecting page needs one every
  second or so at most); beyond it, a handshake is refused as the per-address cap refuses one, a second late.

This builds on internals of python-socketio 5.18 and python-engineio 4.15 (pinned in pyproject.toml):
the ``serializer`` packet class, ``_handle_eio_connect/message/disconnect`` and the ASGI driver's
``WebSocket`` class. tests/test_abuse_*.py exercise each of them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from typing import Any

import socketio
from engineio.async_drivers import asgi
from socketio import packet

from .addresses import client_key
from .budgets import REFUSAL_DELAY, TokenBuckets
from .errors import SkyCallError

log = logging.getLogger(__name__)

NAMESPACE_TIMEOUT = 5.0  # seconds from the engine.io handshake to the namespace connect (clients send it at once)
CLIENT_FRAMES = frozenset('134')  # engine.io from a websocket client: CLOSE, PONG, MESSAGE (never binary)
RESERVED_EVENTS = frozenset({'connect', 'disconnect', 'connect_error'})  # would call the namespace's own handlers
MAX_EVENT_NAME = 32
LOG_BURST = 50  # refusal lines per LOG_PERIOD per worker, one per address; the rest are counted in the next line
LOG_PERIOD = 10.0
HANDSHAKE_BURST = 10  # handshakes at once per address, over its cap of sockets (all its tabs at once, and some)
HANDSHAKE_RATE = 2.0  # handshakes a second per address, after the burst


class Refused(ValueError):
    """A frame or packet no SkyCall client sends; ``reason`` goes to the log line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LogThrottle:
    """Warnings about clients, at most one per key (an address) and ``burst`` in all per ``period`` seconds;
    how many were left out is said in the next line."""

    def __init__(self, logger: logging.Logger, burst: int = LOG_BURST, period: float = LOG_PERIOD) -> None:
        self.logger = logger
        self.burst = burst
        self.period = period
        self._window = time.monotonic()
        self._keys: set[str] = set()  # logged in this window: at most ``burst``
        self._left_out = 0

    def warning(self, key: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._window >= self.period:
            self._window = now
            self._keys.clear()
        if key in self._keys or len(self._keys) >= self.burst:
            self._left_out += 1
            return
        self._keys.add(key)
        if self._left_out:
            message, args = f'{message} (and %d more not logged)', (*args, self._left_out)
            self._left_out = 0
        self.logger.warning(message, *args)


class StrictPacket(packet.Packet):
    """A socket.io packet as SkyCall's clients send them: text only; CONNECT, DISCONNECT or EVENT to '/';
    an event is a list that starts with a short name that is not one of socket.io's own."""

    uses_binary_events = False  # SkyCall sends no bytes: never turn an outgoing packet into a binary one

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            raise Refused('binary packet')
        if super().decode(encoded_packet) or self.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
            raise Refused('binary packet')
        if self.namespace not in (None, '/'):
            raise Refused('unknown namespace')
        if self.packet_type == packet.EVENT:
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                raise Refused('malformed event')
            if data[0] in RESERVED_EVENTS or len(data[0]) > MAX_EVENT_NAME:
                raise Refused('reserved or overlong event name')
        elif self.packet_type == packet.CONNECT:
            if self.data is not None and not isinstance(self.data, dict):
                raise Refused('malformed connect')
        elif self.packet_type != packet.DISCONNECT:
            raise Refused(f'unexpected packet type {self.packet_type}')  # ACKs too: the server asks for none
        return 0


def client_address(environ: dict[str, Any]) -> str:
    """The key of the socket's client address for per-address limits (an IPv6 /64 is one address)."""
    client = environ.get('asgi.scope', {}).get('client') or ('?', 0)
    return client_key(str(client[0]))


class GuardedServer(socketio.AsyncServer):
    """python-socketio's server with SkyCall's packet rules, per-address socket counts and timeouts.

    ``max_connections_per_address`` caps the engine.io sessions one address holds at once, whether or not
    they reach the namespace; a session must connect to the namespace within ``namespace_timeout`` seconds.
    An address may open ``max_connections_per_address + HANDSHAKE_BURST`` sessions at once, then
    ``handshake_rate`` a second.
    """

    def __init__(self, *, max_connections_per_address: int, namespace_timeout: float = NAMESPACE_TIMEOUT,
                 handshake_rate: float = HANDSHAKE_RATE, refusal_delay: float = REFUSAL_DELAY,
                 **options: Any) -> None:
        super().__init__(serializer=StrictPacket, **options)
        self.max_connections_per_address = max_connections_per_address
        self.handshakes = TokenBuckets(max_connections_per_address + HANDSHAKE_BURST, handshake_rate)
        self.refusal_delay = refusal_delay
        self.namespace_timeout = namespace_timeout
        self.log = LogThrottle(log)
        self._per_address: Counter[str] = Counter()
        self._addresses: dict[str, str] = {}  # engine.io sid -> client address
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Only this server's websockets are guarded: engine.io's driver table is shared by the module.
        self.eio._async = {**self.eio._async, 'websocket': functools.partial(_GuardedWebSocket, transport=self)}

    def note_refusal(self, eio_sid: str, reason: str) -> None:
        """Say that a session was refused, in one (rate-limited) log line, without a traceback."""
        address = self._addresses.get(eio_sid, '?')
        self.log.warning(address, 'signaling: closed a connection from %s: %s', address, reason)

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> dict[str, Any] | None:
        address = client_address(environ)
        if self._per_address[address] >= self.max_connections_per_address:
            return self._refuse_handshake(address, f'{self._per_address[address]} already open')
        if self.handshakes.take(address):
            # Answered late, as budgets.PageBudget answers its refusals: a client that tries again when refused
            # then tries once a second, not a thousand times (each attempt a connection and a handshake).
            await asyncio.sleep(self.refusal_delay)
            return self._refuse_handshake(address, 'too many handshakes a second')
        await super()._handle_eio_connect(eio_sid, environ)
        self._per_address[address] += 1  # counted out in _handle_eio_disconnect, which engine.io now owes us
        self._addresses[eio_sid] = address
        loop = asyncio.get_running_loop()
        self._timers[eio_sid] = loop.call_later(self.namespace_timeout, self._check_namespace, eio_sid)
        return None

    def _refuse_handshake(self, address: str, why: str) -> dict[str, Any]:
        self.log.warning(address, 'signaling: refused a connection from %s: %s', address, why)
        # engine.io answers the handshake with 401 and this JSON body, socket.io's shape for a refusal: the
        # sentence as ``message``, the error object as ``data``. (A browser's websocket sees only a failure.)
        error = SkyCallError('rate-limited')
        return {'message': error.message, 'data': error.to_dict('connect')}

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        pkt = self.packet_class()
        try:
            pkt.decode(data)  # not packet_class(encoded_packet=data), which skips decoding an empty packet
        except Exception as error:  # noqa: BLE001 (whatever the decoder raises, the client's bytes caused it)
            await self.refuse(eio_sid, error.reason if isinstance(error, Refused) else 'malformed packet')
            return
        if pkt.packet_type == packet.CONNECT:
            if self.manager.sid_from_eio_sid(eio_sid, '/') is not None:
                await self.refuse(eio_sid, 'second namespace connect')
                return
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        else:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            timer = self._timers.pop(eio_sid, None)
            if timer is not None:
                timer.cancel()
            address = self._addresses.pop(eio_sid, None)
            if address is not None:
                self._per_address[address] -= 1
                if self._per_address[address] <= 0:
                    del self._per_address[address]

    async def refuse(self, eio_sid: str, reason: str) -> None:
        """Close an engine.io session for ``reason`` (see note_refusal)."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closed or socket.closing:
            return
        self.note_refusal(eio_sid, reason)
        await socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
        socket.queue.put_nowait(None)  # the writer sends engine.io's CLOSE packet, then closes the websocket

    def _check_namespace(self, eio_sid: str) -> None:
        self._timers.pop(eio_sid, None)
        if self.manager.sid_from_eio_sid(eio_sid, '/') is None:
            task = asyncio.ensure_future(self.refuse(eio_sid, f'no namespace connect in {self.namespace_timeout:g} s'))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


class _GuardedWebSocket(asgi.WebSocket):  # type: ignore[misc]
    """engine.io's ASGI websocket, handing engine.io only text frames of the types a client sends.

    Returning None from ``wait`` is how engine.io learns the client has gone: its receive loop ends
    and it closes the session (no traceback, unlike a frame its decoder cannot read).
    """

    def __init__(self, handler: Any, server: Any, transport: GuardedServer) -> None:
        super().__init__(handler, server)
        self.socket = handler.__self__  # the engine.io session this websocket carries
        self.transport = transport

    async def wait(self) -> str | None:
        if self.socket.closed or self.socket.closing:  # closed by the server (refused, timed out)
            return None
        frame = await super().wait()
        if isinstance(frame, str) and frame[:1] in CLIENT_FRAMES:
            return frame
        self.transport.note_refusal(self.socket.sid, 'binary frame' if isinstance(frame, bytes) else 'malformed frame')
        return None
