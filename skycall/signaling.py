"""The signaling server: one socket.io namespace that seats peers in rooms and relays between them.

Every inbound event is parsed into a typed message (skycall.protocol) before anything else happens;
identities come from the verified ticket saved in the socket's session, never from the message.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiolimiter import AsyncLimiter
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from . import protocol
from .errors import SkyCallError
from .relay import RedisRelay
from .rooms import Member, RoomStore, Roster
from .tickets import TicketMint
from .transport import GuardedServer

log = logging.getLogger(__name__)

SOCKETIO_PATH = '/signal/socket.io'
CHAT_RATE = (10, 2.0)  # messages, seconds: a leaky bucket per connection
SIGNAL_RATE = (200, 4.0)  # signal and state together
RATES = {'signal': SIGNAL_RATE, 'chat': CHAT_RATE}
JOIN_LIMIT = parse('30 per minute')  # per client address, so reconnecting does not reset it
MAX_CONNECTIONS_PER_ADDRESS = 50

Reply = dict[str, Any]


def create_server(store: RoomStore, mint: TicketMint, max_participants: int,
                  relay: RedisRelay | None = None) -> tuple[socketio.AsyncServer, SignalingNamespace]:
    """A socket.io server that only accepts same-origin websocket connections and small frames.

    ``relay`` carries events to the other workers (RedisRelay); None serves one process.
    """
    server = GuardedServer(  # refuses binary and malformed frames, caps sockets per address (transport.py)
        max_connections_per_address=MAX_CONNECTIONS_PER_ADDRESS,
        async_mode='asgi',
        client_manager=relay,
        cors_allowed_origins=None,  # same origin only: python-socketio's default, never '*'
        transports=['websocket'],
        max_http_buffer_size=protocol.MAX_FRAME,
        ping_interval=3,  # a vanished browser is noticed within ping_interval + ping_timeout (7 s)
        ping_timeout=4,
    )
    namespace = SignalingNamespace(store, mint, max_participants, relay)
    server.register_namespace(namespace)
    return server, namespace


def room_key(room: str) -> str:
    return f'room:{room}'


def peer_key(room: str, peer: str) -> str:
    return f'peer:{room}:{peer}'


def _handler(event: str) -> Callable[[Callable[..., Awaitable[Reply]]], Callable[..., Awaitable[Reply]]]:
    """Turn SkyCallErrors raised by a handler into an `error` event and an error acknowledgement."""
    def decorate(method: Callable[..., Awaitable[Reply]]) -> Callable[..., Awaitable[Reply]]:
        async def wrapper(self: SignalingNamespace, sid: str, *args: Any) -> Reply:
            try:
                if len(args) > 1:
                    raise SkyCallError('bad-message', 'An event carries one JSON object.')
                return await method(self, sid, args[0] if args else None)
            except SkyCallError as error:
                failure = error
            except Exception:  # noqa: BLE001 (the store or the relay failed: say so, keep the connection)
                log.exception('%s failed', event)
                failure = SkyCallError('unavailable')
            self.counters[f'error:{failure.code}'] += 1
            reply = failure.to_dict(event)
            try:
                await self.emit('error', reply, to=sid)
            except SkyCallError:
                pass  # the relay is down: the acknowledgement still carries the error
            return reply
        wrapper.__name__ = method.__name__
        return wrapper
    return decorate


class SignalingNamespace(socketio.AsyncNamespace):
    """join, answer, decline, signal, chat, state and leave, as written in docs/protocol.md."""

    def __init__(self, store: RoomStore, mint: TicketMint, max_participants: int,
                 relay: RedisRelay | None = None) -> None:
        super().__init__('/')
        self.store = store
        self.relay = relay
        # With several workers, who is in a room is read from Redis: kept per room on each worker for the
        # signal path, and forgotten whenever a room's members change (see Roster).
        self._roster: Roster | None = None
        if relay is not None:
            self._roster = Roster(store)
            relay.room_listeners.append(self._members_changed)
        self.mint = mint
        self.max_participants = max_participants
        self.counters: Counter[str] = Counter()
        # Joins are limited per address and must outlive a connection: limits' sliding-window counters.
        # Signals and chat are limited per connection: one leaky bucket each, dropped with the connection.
        # (limits' moving window kept one entry per event and swept every key after every hit: over half
        # of the relay's CPU at 1,000 signals a second.)
        self._address_limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._buckets: dict[str, dict[str, AsyncLimiter]] = {}
        self._connections: Counter[str] = Counter()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        client = environ.get('asgi.scope', {}).get('client') or ('?', 0)
        address = str(client[0])
        if self._connections[address] >= MAX_CONNECTIONS_PER_ADDRESS:
            self.counters['refused:connections'] += 1
            raise socketio.exceptions.ConnectionRefusedError(SkyCallError('rate-limited').to_dict('connect'))
        self._connections[address] += 1
        self._buckets[sid] = {}
        await self.save_session(sid, {'address': address})

    @_handler('join')
    async def on_join(self, sid: str, data: Any) -> Reply:
        session = await self.get_session(sid)
        if not await self._address_limiter.hit(JOIN_LIMIT, 'join', session.get('address', '?')):
            raise SkyCallError('rate-limited')
        ticket = self.mint.check(protocol.parse(protocol.Join, data).ticket)
        if session.get('room') and (session['room'], session['peer']) != (ticket.room, ticket.peer):
            await self._leave(sid, session, reason='left')
        joined = await self.store.join(ticket.room, Member(ticket.peer, ticket.name, sid), self.max_participants)
        session.update(room=ticket.room, peer=ticket.peer, name=ticket.name, seated=joined.seated)
        await self.save_session(sid, session)
        you = {'id': ticket.peer, 'name': ticket.name}
        await self.enter_room(sid, peer_key(ticket.room, ticket.peer))
        if not joined.seated:
            await self.emit('knock', you, room=room_key(ticket.room))
            return {'ok': True, 'you': you, 'peers': [], 'waiting': True}
        if joined.replaced is not None and joined.replaced.conn != sid:
            await self._evict(ticket.room, joined.replaced)
        await self.enter_room(sid, room_key(ticket.room))
        await self.emit('peer-joined', you, room=room_key(ticket.room), skip_sid=sid)
        return {'ok': True, 'you': you, 'peers': [member.public() for member in joined.others], 'waiting': False,
                'history': await self.store.chat_history(ticket.room)}

    @_handler('answer')
    async def on_answer(self, sid: str, data: Any) -> Reply:
        return await self._reply_to_knock(sid, data, admit=True)

    @_handler('decline')
    async def on_decline(self, sid: str, data: Any) -> Reply:
        return await self._reply_to_knock(sid, data, admit=False)

    @_handler('signal')
    async def on_signal(self, sid: str, data: Any) -> Reply:
        session = await self._seated(sid)
        await self._limit(sid, 'signal')
        message = protocol.parse(protocol.Signal, data)
        room, sender = session['room'], session['peer']  # read before waiting: a disconnect clears them
        target = None if message.to == sender else await self._member(room, message.to)
        if target is None:
            self.counters['dropped'] += 1
            raise SkyCallError('no-such-peer')
        signal = {'from': sender, **message.payload()}
        # To the target's own room (only a connection with a ticket for this room and peer is in it), on the
        # worker that holds it.
        if self.relay is not None and target.worker:
            await self.relay.emit_to(target.worker, 'signal', signal, room=peer_key(room, message.to))
        else:
            await self.emit('signal', signal, room=peer_key(room, message.to))
        return {'ok': True}

    @_handler('chat')
    async def on_chat(self, sid: str, data: Any) -> Reply:
        session = await self._seated(sid)
        await self._limit(sid, 'chat')
        message = protocol.parse(protocol.Chat, data)
        chat = {'id': secrets.token_urlsafe(6), 'from': session['peer'], 'name': session['name'],
                'text': message.text, 'ts': time.time()}
        await self.store.add_chat(session['room'], chat)
        await self.emit('chat', chat, room=room_key(session['room']))
        return {'ok': True, 'id': chat['id']}

    @_handler('state')
    async def on_state(self, sid: str, data: Any) -> Reply:
        session = await self._seated(sid)
        await self._limit(sid, 'signal')
        state = protocol.parse(protocol.MediaState, data)
        await self.emit('peer-state', {'id': session['peer'], 'audio': state.audio, 'video': state.video},
                        room=room_key(session['room']), skip_sid=sid)
        return {'ok': True}

    @_handler('leave')
    async def on_leave(self, sid: str, data: Any) -> Reply:
        session = await self.get_session(sid)
        if not session.get('room'):
            raise SkyCallError('not-joined')
        protocol.parse(protocol.Leave, data)
        await self._leave(sid, session, reason='left')
        return {'ok': True}

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = await self.get_session(sid)
        address = session.get('address', '?')
        self._buckets.pop(sid, None)
        self._connections[address] -= 1
        if self._connections[address] <= 0:
            del self._connections[address]
        if session.get('room'):
            await self._leave(sid, session, reason='disconnected')

    async def announce_departures(self, departed: list[tuple[str, Member]]) -> None:
        """Tell rooms about members whose worker died (found by the store's sweep)."""
        for room, member in departed:
            await self.emit('peer-left', {**member.public(), 'reason': 'disconnected'}, room=room_key(room))

    async def _member(self, room: str, peer: str) -> Member | None:
        if self._roster is not None:
            return await self._roster.find(room, peer)
        return next((member for member in await self.store.members(room) if member.id == peer), None)

    def _members_changed(self, event: str | None, room: str | None) -> None:
        """Called by the relay for every event to a room, from any worker; (None, None) after an outage."""
        assert self._roster is not None
        if event is None:
            self._roster.forget()
        elif event in ('peer-joined', 'peer-left') and room is not None and room.startswith('room:'):
            self._roster.forget(room.removeprefix('room:'))

    async def _reply_to_knock(self, sid: str, data: Any, admit: bool) -> Reply:
        """A member lets a knocking person in (admitted) or turns them away (declined); popups close."""
        session = await self._seated(sid)
        knocker_id = protocol.parse(protocol.KnockReply, data).id
        store_call = self.store.admit if admit else self.store.withdraw
        knocker = await store_call(session['room'], knocker_id)
        if knocker is None:
            raise SkyCallError('no-such-peer')
        room = session['room']
        await self.emit('admitted' if admit else 'declined', {'by': session['name']}, room=peer_key(room, knocker.id))
        await self.emit('knock-ended', {**knocker.public(), 'reason': 'answered' if admit else 'declined'},
                        room=room_key(room))
        return {'ok': True}

    async def _seated(self, sid: str) -> dict[str, Any]:
        session = await self.get_session(sid)
        if not session.get('seated'):
            raise SkyCallError('not-joined')
        return session

    async def _limit(self, sid: str, kind: str) -> None:
        # Made on the first message of its kind: most connections never chat, a knocker never signals.
        buckets = self._buckets.get(sid)
        if buckets is None:  # the connection has just gone
            raise SkyCallError('rate-limited')
        bucket = buckets.get(kind) or buckets.setdefault(kind, AsyncLimiter(*RATES[kind]))
        if not bucket.has_capacity():
            raise SkyCallError('rate-limited')
        await bucket.acquire()  # has capacity: takes it without waiting

    async def _leave(self, sid: str, session: dict[str, Any], reason: str) -> None:
        """Give up the seat, or withdraw the knock; tell the room. A hang-up also leaves the guest list."""
        room, peer, seated = session.pop('room'), session.pop('peer'), session.pop('seated', False)
        await self.save_session(sid, session)
        await self.leave_room(sid, room_key(room))
        await self.leave_room(sid, peer_key(room, peer))
        if not seated:
            knocker = await self.store.withdraw(room, peer, conn=sid)
            if knocker is not None:
                await self.emit('knock-ended', {**knocker.public(), 'reason': 'cancelled'}, room=room_key(room))
            return
        member = await self.store.leave(room, peer, conn=sid, forget=reason == 'left')
        if member is not None:
            await self.emit('peer-left', {**member.public(), 'reason': reason}, room=room_key(room))

    async def _evict(self, room: str, old: Member) -> None:
        """The same peer joined again (a reload, another tab): close the old connection's seat."""
        await self.leave_room(old.conn, room_key(room))
        await self.leave_room(old.conn, peer_key(room, old.id))
        try:
            old_session = await self.get_session(old.conn)
        except KeyError:  # that connection is already gone
            old_session = None
        if old_session is not None:
            for key in ('room', 'peer', 'seated'):
                old_session.pop(key, None)
            await self.save_session(old.conn, old_session)
        await self.emit('error', SkyCallError('replaced').to_dict('join'), to=old.conn)
        await self.emit('peer-left', {**old.public(), 'reason': 'replaced'}, room=room_key(room), skip_sid=old.conn)
        await self.disconnect(old.conn)
