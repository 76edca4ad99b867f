"""Per-connection state (a typed Session), the socket.io rooms a connection is in, and the limits that keep
one address or connection from flooding."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from ..errors import SkyCallError

CHAT_RATE = (10, 2.0)  # messages, seconds: a leaky bucket per connection
SIGNAL_RATE = (200, 4.0)  # ICE comes in bursts
STATE_RATE = (20, 4.0)  # a bucket of its own: toggling the camera must never starve ICE candidates
RATES = {'signal': SIGNAL_RATE, 'state': STATE_RATE, 'chat': CHAT_RATE}
JOIN_LIMIT = parse('30 per minute')  # per client address, so reconnecting does not reset it
# Knocks per client address per room: a knock holds the free seat (KNOCK_TTL_SECONDS), so knocking again and
# again would keep everyone else out; five leave room for a few tries after "No answer" or a decline.
KNOCKS_PER_ADDRESS = 5  # per room in any KNOCK_WINDOW (SKYCALL_KNOCKS_PER_ADDRESS)
KNOCK_WINDOW = '10 minutes'
KNOCKED_TOO_OFTEN = 'You have knocked on this call many times. Try again in a few minutes.'
MAX_CONNECTIONS_PER_ADDRESS = 50


def room_key(room: str) -> str:
    """The socket.io room of a call's members (seated connections only)."""
    return f'room:{room}'


def peer_key(room: str, peer: str) -> str:
    """The socket.io room of one peer id of a call: the connections holding a ticket for it."""
    return f'peer:{room}:{peer}'


@dataclass(frozen=True, slots=True)
class Seat:
    """Where a connection is, from its verified ticket: seated in ``room`` as ``peer``, or knocking there."""

    room: str
    peer: str
    name: str
    seated: bool


@dataclass(slots=True)
class Session:
    """One connection: its client address and, once it has joined, its seat (None before and after)."""

    address: str
    seat: Seat | None = None
    # Made on the first message of its kind: most connections never chat, a knocker never signals.
    buckets: dict[str, AsyncLimiter] = field(default_factory=dict)
    # While knocking: the ring timer, which this connection's worker owns (signaling/knocks.py).
    ringing: asyncio.Task[None] | None = None


class Limits:
    """Joins are limited per address and must outlive a connection: limits' sliding-window counters.
    Signals and chat are limited per connection: one leaky bucket each, dropped with the connection.
    (limits' moving window kept one entry per event and swept every key after every hit: over half
    of the relay's CPU at 1,000 signals a second.)"""

    def __init__(self, knocks_per_address: int = KNOCKS_PER_ADDRESS) -> None:
        self._joins = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._knock_limit = parse(f'{knocks_per_address} per {KNOCK_WINDOW}')

    async def join(self, address: str) -> None:
        if not await self._joins.hit(JOIN_LIMIT, 'join', address):
            raise SkyCallError('rate-limited')

    async def knock(self, address: str, room: str) -> bool:
        """Count a knock from ``address`` on ``room``; False past the knock limit (the knock is then refused)."""
        return await self._joins.hit(self._knock_limit, 'knock', address, room)

    @staticmethod
    async def take(session: Session, kind: str) -> None:
        """One ``kind`` ('signal', 'state' or 'chat') message from this connection, or rate-limited."""
        bucket = session.buckets.get(kind) or session.buckets.setdefault(kind, AsyncLimiter(*RATES[kind]))
        if not bucket.has_capacity():
            raise SkyCallError('rate-limited')
        await bucket.acquire()  # has capacity: takes it without waiting
