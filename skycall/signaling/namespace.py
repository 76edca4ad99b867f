"""The socket.io namespace that seats peers in rooms and relays between them (docs/protocol.md).

Every inbound event goes through one dispatch (``trigger_event``): known event, one argument, the seat it
needs, its rate limit, then parsed into its typed message (skycall.protocol) before its handler runs; any
failure becomes the error acknowledgement there, and nowhere else (or the ``error`` event, when the sender
asked for no acknowledgement). The knock lifecycle lives in knocks.py. Identities come
from the verified ticket kept in the connection's Session, never from the message.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import socketio

from .. import protocol as p
from ..errors import SkyCallError
from ..relay import RedisRelay
from ..rooms import Member, RoomStore
from ..tickets import TicketMint
from ..transport import client_address
from .acks import wants_acknowledgement
from .knocks import Door
from .session import KNOCKED_TOO_OFTEN, KNOCKS_PER_ADDRESS, Limits, Seat, Session, peer_key, room_key

__all__ = ['SignalingNamespace', 'peer_key', 'room_key']

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """What an inbound event needs before its handler runs: a seat (``seated``: in the call, ``joined``:
    seated or knocking) and which limit it counts against ('join' per address, else a connection's bucket)."""

    handler: str
    needs: Literal['nothing', 'joined', 'seated'] = 'seated'
    limit: Literal['join', 'signal', 'state', 'chat'] | None = None


ROUTES: dict[str, Route] = {
    'join': Route('_join', 'nothing', 'join'),
    'answer': Route('_answer'),
    'decline': Route('_decline'),
    'signal': Route('_signal', limit='signal'),
    'chat': Route('_chat', limit='chat'),
    'state': Route('_state', limit='state'),
    'leave': Route('_leave_call', 'joined'),
}

Handler = Callable[[str, Session, Any], Awaitable[p.Event]]


class SignalingNamespace(socketio.AsyncNamespace):
    """join, answer, decline, signal, chat, state and leave, as written in docs/protocol.md."""

    def __init__(self, store: RoomStore, mint: TicketMint, max_participants: int,
                 relay: RedisRelay | None = None, ring_timeout_seconds: float = 30.0,
                 knocks_per_address: int = KNOCKS_PER_ADDRESS) -> None:
        super().__init__('/')
        self.store = store
        self.door = Door(store, self._send, ring_timeout_seconds)
        self.relay = relay
        # With several workers, the store tells the signal path who is in a room from what it last read;
        # every worker's relay hears when a room's members change (see RoomStore.members_changed).
        if relay is not None:
            relay.room_listeners.append(self._members_changed)
        self.mint = mint
        self.max_participants = max_participants
        self.limits = Limits(knocks_per_address)
        self.sessions: dict[str, Session] = {}  # by socket id, from connect to disconnect

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """The one dispatch of inbound events (python-socketio calls it for every event of this namespace)."""
        if event in ('connect', 'disconnect'):
            return await super().trigger_event(event, *args)
        sid, data = args[0], args[1:]
        route = ROUTES.get(event)
        try:
            if route is None:
                raise SkyCallError('bad-message')
            if len(data) > 1:
                raise SkyCallError('bad-message')  # an event carries one JSON object
            session = await self._admit(sid, route)
            message = p.parse(p.INBOUND[event], data[0] if data else None)
            handler: Handler = getattr(self, route.handler)
            return (await handler(sid, session, message)).wire()
        except SkyCallError as error:
            failure = error
        except Exception:  # noqa: BLE001 (the store or the relay failed: say so, keep the connection)
            log.exception('%s failed', event)
            failure = SkyCallError('unavailable')
        reply = p.ErrorReply.of(failure, event if route else None)
        if wants_acknowledgement():
            return reply.wire()
        try:
            await self._send(reply, to=sid)
        except SkyCallError:
            log.warning('could not tell a client that its %s failed: the relay is down', event)
        return None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Sockets per address are capped below, by the engine.io server (transport.py), before this runs.
        self.sessions[sid] = Session(client_address(environ))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if session is not None and session.seat is not None:
            await self._leave(sid, session, reason='disconnected')

    async def announce_departures(self, departed: list[tuple[str, Member]]) -> None:
        """Tell rooms about members whose worker died (found by the store's sweep)."""
        for room, member in departed:
            await self._send(p.PeerLeft(id=member.id, name=member.name, reason='disconnected'), room=room_key(room))
        for room in {room for room, _ in departed}:
            await self.door.open_if_empty(room)

    # The handlers: each gets the connection's session and its parsed message, and returns the acknowledgement.

    async def _join(self, sid: str, session: Session, message: p.Join) -> p.JoinReply:
        ticket = self.mint.check(message.ticket)
        if session.seat is not None and (session.seat.room, session.seat.peer) != (ticket.room, ticket.peer):
            await self._leave(sid, session, reason='left')
        self.door.stop_ringing(session)
        # In its peer's room before the store decides: an `admitted` may follow the knock at once.
        await self.enter_room(sid, peer_key(ticket.room, ticket.peer))
        try:
            joined = await self.store.join(ticket.room, Member(ticket.peer, ticket.name, sid), self.max_participants)
        except Exception:
            if session.seat is None:
                await self.leave_room(sid, peer_key(ticket.room, ticket.peer))
            raise
        if not joined.seated and not await self.limits.knock(session.address, ticket.room):
            await self._refuse_knock(sid, session, Seat(ticket.room, ticket.peer, ticket.name, seated=False))
        session.seat = Seat(ticket.room, ticket.peer, ticket.name, joined.seated)
        you = p.Peer(id=ticket.peer, name=ticket.name)
        if not joined.seated:
            await self.door.knock(sid, session, session.seat)
            return p.JoinReply(waiting=True, you=you, peers=[])
        if joined.replaced is not None and joined.replaced.conn != sid:
            await self._evict(ticket.room, joined.replaced)
        await self.enter_room(sid, room_key(ticket.room))
        await self._send(p.PeerJoined(id=ticket.peer, name=ticket.name), room=room_key(ticket.room), skip_sid=sid)
        await self.door.replay(sid, ticket.room, ticket.peer)  # arrives before this reply
        return p.JoinReply(waiting=False, you=you, peers=[p.Peer(id=m.id, name=m.name) for m in joined.others],
                           history=await self.store.chat_history(ticket.room))

    async def _answer(self, sid: str, session: Session, message: p.KnockReply) -> p.Ok:
        return await self.door.reply(_seat(session), message.id, admit=True)

    async def _decline(self, sid: str, session: Session, message: p.KnockReply) -> p.Ok:
        return await self.door.reply(_seat(session), message.id, admit=False)

    async def _signal(self, sid: str, session: Session, message: p.Signal) -> p.Ok:
        seat = _seat(session)  # kept before waiting: a disconnect clears the session's seat
        target = None if message.to == seat.peer else await self._member(seat.room, message.to)
        if target is None:
            raise SkyCallError('no-such-peer')
        signal = p.RelayedSignal.stamped(seat.peer, message)
        # To the target's own room (only a connection with a ticket for this room and peer is in it), on the
        # worker that holds it.
        if self.relay is not None and target.worker:
            await self.relay.emit_to(target.worker, signal.event, signal.wire(), room=peer_key(seat.room, message.to))
        else:
            await self._send(signal, room=peer_key(seat.room, message.to))
        return p.Ok()

    async def _chat(self, sid: str, session: Session, message: p.Chat) -> p.ChatSent:
        seat = _seat(session)
        chat = p.ChatMessage(id=secrets.token_urlsafe(6), sender=seat.peer, name=seat.name, text=message.text,
                             ts=time.time())
        await self.store.add_chat(seat.room, chat)
        await self._send(chat, room=room_key(seat.room))
        return p.ChatSent(id=chat.id)

    async def _state(self, sid: str, session: Session, message: p.MediaState) -> p.Ok:
        seat = _seat(session)
        await self._send(p.PeerState(id=seat.peer, audio=message.audio, video=message.video),
                         room=room_key(seat.room), skip_sid=sid)
        return p.Ok()

    async def _leave_call(self, sid: str, session: Session, message: p.Leave) -> p.Ok:
        await self._leave(sid, session, reason='left')
        return p.Ok()

    # The machinery.

    async def _admit(self, sid: str, route: Route) -> Session:
        """The session, once the event's seat and limit allow it; else not-joined or rate-limited."""
        session = self.sessions.get(sid)
        if session is None:  # the connection has just gone
            raise SkyCallError('not-joined')
        seat = session.seat
        if (route.needs == 'joined' and seat is None) or (route.needs == 'seated' and not (seat and seat.seated)):
            raise SkyCallError('not-joined')
        if route.limit == 'join':
            await self.limits.join(session.address)
        elif route.limit is not None:
            await self.limits.take(session, route.limit)
        return session

    async def _send(self, message: p.Outbound, **where: Any) -> None:
        await self.emit(message.event, message.wire(), **where)

    async def _member(self, room: str, peer: str) -> Member | None:
        return await self.store.find_member(room, peer)

    def _members_changed(self, event: str | None, room: str | None) -> None:
        """Called by the relay for every event to a room, from any worker; (None, None) after an outage."""
        if event is None:
            self.store.members_changed()
        elif event in (p.PeerJoined.event, p.PeerLeft.event) and room is not None and room.startswith('room:'):
            self.store.members_changed(room.removeprefix('room:'))

    async def _leave(self, sid: str, session: Session, reason: Literal['left', 'disconnected']) -> None:
        """Give up the seat, or withdraw the knock; tell the room. A hang-up also leaves the guest list.
        The last member to go lets in whoever knocks (knocks.py)."""
        seat = _seat(session, seated=False)
        session.seat = None
        await self.leave_room(sid, room_key(seat.room))
        await self.leave_room(sid, peer_key(seat.room, seat.peer))
        if not seat.seated:
            await self.door.cancel(sid, session, seat)
            return
        member = await self.store.leave(seat.room, seat.peer, conn=sid, forget=reason == 'left')
        if member is not None:
            await self._send(p.PeerLeft(id=member.id, name=member.name, reason=reason), room=room_key(seat.room))
            await self.door.open_if_empty(seat.room)

    async def _refuse_knock(self, sid: str, session: Session, seat: Seat) -> NoReturn:
        """Too many knocks from this address on this room: the knock just recorded is withdrawn, so that one
        person cannot hold the free seat by knocking again and again. Members only hear of it (``knock-ended``)
        when this connection was knocking already: they see no popup for a knock that never rang."""
        if session.seat == seat:
            await self._leave(sid, session, reason='left')
        else:
            await self.store.withdraw(seat.room, seat.peer, conn=sid)
            if session.seat is None:
                await self.leave_room(sid, peer_key(seat.room, seat.peer))
        raise SkyCallError('rate-limited', KNOCKED_TOO_OFTEN)

    async def _evict(self, room: str, old: Member) -> None:
        """The same peer joined again (a reload, another tab): close the old connection's seat."""
        await self.leave_room(old.conn, room_key(room))
        await self.leave_room(old.conn, peer_key(room, old.id))
        old_session = self.sessions.get(old.conn)  # None when that connection is gone, or on another worker
        if old_session is not None:
            old_session.seat = None
        await self._send(p.ErrorReply.of(SkyCallError('replaced'), 'join'), to=old.conn)
        await self._send(p.PeerLeft(id=old.id, name=old.name, reason='replaced'), room=room_key(room),
                         skip_sid=old.conn)
        await self.disconnect(old.conn)


def _seat(session: Session, seated: bool = True) -> Seat:
    """The session's seat, which the route has checked for (a guard for the type checker)."""
    seat = session.seat
    if seat is None or (seated and not seat.seated):
        raise SkyCallError('not-joined')
    return seat
