"""The knock lifecycle (docs/protocol.md, "Knocking"): every knock ends, and the knocker and the members
are told how.

A knock ends when a member answers or declines it, when the knocker cancels (or goes), at the ring
timeout (``no-answer``), or when the last member leaves: nobody is left to answer, and the first person
in an empty room is seated anyway, so the server lets the knockers in itself. A member who (re)joins is
shown the knocks still waiting. The ring timer belongs to the worker that holds the knocker's connection;
the store keeps a knock longer than any ring timeout, so a knock ends by its timer, not by expiring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .. import protocol as p
from ..errors import SkyCallError
from ..rooms import KNOCK_TTL_SECONDS, RoomStore
from .session import Seat, Session, peer_key, room_key

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[None]]  # the namespace's send: a message, and where (room=…, to=…)


class Door:
    """The knocks of the rooms this worker serves: rung, answered, timed out, replayed, let in."""

    def __init__(self, store: RoomStore, send: Send, ring_timeout_seconds: float) -> None:
        if ring_timeout_seconds >= KNOCK_TTL_SECONDS:
            raise ValueError('the store must keep a knock longer than it rings')
        self.store = store
        self.send = send
        self.ring_timeout = ring_timeout_seconds

    async def knock(self, sid: str, session: Session, seat: Seat) -> None:
        """``seat`` knocks (again): the members hear it, and its ring timer starts afresh."""
        self.stop_ringing(session)
        await self.send(p.Knock(id=seat.peer, name=seat.name), room=room_key(seat.room))
        session.ringing = asyncio.create_task(self._ring(sid, seat), name=f'skycall-ring-{sid}')

    @staticmethod
    def stop_ringing(session: Session) -> None:
        """The knock of this connection is over, or replaced by a new one: its timer goes."""
        if session.ringing is not None:
            session.ringing.cancel()
            session.ringing = None

    async def replay(self, sid: str, room: str, peer: str) -> None:
        """Show a member who has just been seated (a reload, a new tab) the knocks still waiting."""
        for knocker in await self.store.knocks(room):
            if knocker.id != peer:
                await self.send(p.Knock(id=knocker.id, name=knocker.name), to=sid)

    async def reply(self, seat: Seat, knocker_id: str, admit: bool) -> p.Ok:
        """A member lets a knocking person in (admitted) or turns them away (declined); popups close."""
        store_call = self.store.admit if admit else self.store.withdraw
        knocker = await store_call(seat.room, knocker_id)
        if knocker is None:
            raise SkyCallError('no-such-peer')
        answer = p.Admitted(by=seat.name) if admit else p.Declined(by=seat.name)
        await self.send(answer, room=peer_key(seat.room, knocker.id))
        await self.send(p.KnockEnded(id=knocker.id, name=knocker.name, reason='answered' if admit else 'declined'),
                        room=room_key(seat.room))
        return p.Ok()

    async def cancel(self, sid: str, session: Session, seat: Seat) -> None:
        """The knocker hung up or went: the members' popups close."""
        self.stop_ringing(session)
        knocker = await self.store.withdraw(seat.room, seat.peer, conn=sid)
        if knocker is not None:
            await self.send(p.KnockEnded(id=knocker.id, name=knocker.name, reason='cancelled'),
                            room=room_key(seat.room))

    async def open_if_empty(self, room: str) -> None:
        """After a member left: if nobody is seated any more, everyone knocking is let in."""
        for knocker in await self.store.open_door(room):
            await self.send(p.Admitted(reason='empty'), room=peer_key(room, knocker.id))

    async def _ring(self, sid: str, seat: Seat) -> None:
        await asyncio.sleep(self.ring_timeout)
        try:
            # Only this connection's knock: answered, declined or cancelled meanwhile, it is gone already.
            knocker = await self.store.withdraw(seat.room, seat.peer, conn=sid)
            if knocker is None:
                return
            ended = p.KnockEnded(id=knocker.id, name=knocker.name, reason='no-answer')
            await self.send(ended, room=room_key(seat.room))
            await self.send(ended, to=sid)
        except Exception:  # noqa: BLE001 (the store or the relay failed: the store's TTL ends the knock)
            log.exception('ending an unanswered knock failed')
