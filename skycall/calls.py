"""What the pages and the HTTP API do with rooms: start one, check one, hand out tickets for one."""

from __future__ import annotations

from urllib.parse import urlsplit

from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from .errors import SkyCallError
from .protocol import NewTicket, is_room_id, new_peer_id, new_room_id, parse
from .rooms import RoomStore
from .tickets import Ticket, TicketMint

# Rooms one address may create (a page or the API); keeps a loop from filling the store.
ROOM_LIMIT = parse_limit('30 per 10 minutes')


class Calls:
    """The one service object the pages and the API share."""

    def __init__(self, store: RoomStore, mint: TicketMint) -> None:
        self.store = store
        self.mint = mint
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def start(self, address: str) -> str:
        """Create a room for someone at ``address``; raises rate-limited past ROOM_LIMIT."""
        if not await self._limiter.hit(ROOM_LIMIT, 'rooms', address):
            raise SkyCallError('rate-limited', 'You have started many calls in a short time. Try again later.')
        room = new_room_id()
        await self.store.create_room(room)
        return room

    async def exists(self, room: str) -> bool:
        return is_room_id(room) and await self.store.room_exists(room)

    async def ticket(self, room: str, name: object, peer: str | None = None) -> Ticket:
        """A ticket for ``name`` in ``room``; raises no-such-room, or bad-message for a bad name."""
        clean = parse(NewTicket, {'name': name}).name
        if not await self.exists(room):
            raise SkyCallError('no-such-room')
        return Ticket(room=room, name=clean, peer=peer or new_peer_id())

    def sign(self, ticket: Ticket) -> str:
        return self.mint.issue(ticket)


def room_from_reference(text: str) -> str | None:
    """The room id in a bare id or a pasted invite link (``https://host/dial/<id>``), or None."""
    text = (text or '').strip()
    if len(text) > 2048:
        return None
    candidate = urlsplit(text).path.rstrip('/').rsplit('/', 1)[-1] if '/' in text else text
    return candidate if is_room_id(candidate) else None
