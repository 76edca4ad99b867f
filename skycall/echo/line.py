"""Echo sessions: each one a bot in echo mode, alone in a fresh room with the person testing.

The bot joins its room first, through the same signaling server as everyone, so the person's
browser is the newcomer: it knocks, the bot lets in that one peer id and nobody else, the browser
offers and the bot answers with the browser's own tracks, relayed back (docs/protocol.md, "Python peers (aiortc)").

Seats. Echoing costs CPU only while media flows (every frame is decoded and encoded again), but a
page view that never sends any must not keep others out: a script with no browser can open the page
and its websocket as often as it likes. So ``capacity`` counts the sessions whose person's media has
arrived, plus those opened less than ARRIVAL_SECONDS ago (people on their way: a browser joins and
sends in a second or two). A session whose person has not come by then ends; one whose person came
but sends nothing stops holding a seat, and if its media starts once the line is full it is ended as
busy. And one address (one IPv6 /64) has one session: a second page view from it, a reload most
often, replaces the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ipaddress
import logging
import time
from typing import TYPE_CHECKING

from ..calls import Calls
from ..config import Settings
from ..tickets import Ticket

if TYPE_CHECKING:
    from ..bot.client import Bot, Outcome

log = logging.getLogger(__name__)

ECHO_NAME = 'Test line'
SESSION_SECONDS = 120.0
JOIN_TIMEOUT = 10.0
# From the session's start, the person's browser has this long to come into the room (else the session
# ends) and their media this long to arrive while the session holds a seat regardless (see "Seats").
ARRIVAL_SECONDS = 10.0
BUSY = 'The test line is busy, try again in a minute.'
REPLACED = 'The test call was opened again from the same address.'


class EchoUnavailable(Exception):
    """The echo peer could not join its room (the server could not reach itself)."""


class EchoSession:
    """One person's test call: the room, their ticket, and the echo bot that answers them."""

    task: asyncio.Task[None]  # the bot's run, started by EchoLine

    def __init__(self, room: str, person: Ticket, bot: Bot, seconds: float, address: str = '') -> None:
        self.room = room
        self.person = person
        self.bot = bot
        self.seconds = seconds
        self.address = address  # whom it is for: see address_key
        self.started = time.monotonic()
        self.media_since: float | None = None  # when the person's first frame arrived
        self.released = False  # replaced or busy: no longer holds a seat while it ends
        self.busy = False
        self.outcome: Outcome | None = None
        self.ended = asyncio.Event()

    def holds_seat(self, now: float) -> bool:
        """Whether this session counts against the line's capacity (see "Seats" above)."""
        if self.released or self.ended.is_set():
            return False
        return self.media_since is not None or now - self.started < ARRIVAL_SECONDS

    def time_left(self) -> float:
        return max(0.0, self.seconds - (time.monotonic() - self.started))

    async def round_trip_time(self) -> float | None:
        """The network round trip to the person in seconds, from the RTCP reports of the media we send them."""
        return await self.bot.round_trip_time()

    def stop(self, reason: str = 'The test call was closed.') -> None:
        if not self.ended.is_set():
            self.bot.stop(reason)

    def has_media(self) -> bool:
        received = self.bot.received
        return received.count('audio') + received.count('video') > 0


class EchoLine:
    """At most ``capacity`` seats taken in this worker (see "Seats" above); beyond that ``open`` answers None."""

    def __init__(self, calls: Calls, server_url: str, ice_servers: list[str], capacity: int,
                 seconds: float = SESSION_SECONDS, allow_private_candidates: bool = False) -> None:
        self.calls = calls
        self.allow_private_candidates = allow_private_candidates  # see skycall/bot/candidates.py
        self.server_url = server_url
        self.ice_servers = ice_servers  # SkyCall's own only: aiortc's default STUN server is never asked
        self.capacity = capacity
        self.seconds = seconds
        self.sessions: set[EchoSession] = set()
        self._opening: list[str] = []  # the address keys of the sessions being opened

    @classmethod
    def from_settings(cls, calls: Calls, settings: Settings) -> EchoLine:
        # The echo peer reaches this worker's own signaling server directly, not through a proxy in front.
        return cls(calls, local_url(settings.host, settings.port), settings.ice_server_urls, settings.echo_max,
                   allow_private_candidates=settings.allow_private_candidates)

    def seats_taken(self, but: str | None = None) -> int:
        """Seats held now, leaving out those of the address key ``but`` (which a new session would replace)."""
        now = time.monotonic()
        return (sum(1 for s in self.sessions if s.address != but and s.holds_seat(now))
                + sum(1 for key in self._opening if key != but))

    def busy_for(self, address: str) -> bool:
        """Whether a page view from ``address`` would find the line busy."""
        return self.seats_taken(but=address_key(address)) >= self.capacity

    async def open(self, address: str, name: str) -> EchoSession | None:
        """Start a session for someone at ``address`` called ``name``; None when the line is busy.

        A session already open for that address ends (a reload must work). Raises SkyCallError
        (rate-limited: too many rooms from that address) or EchoUnavailable.
        """
        key = address_key(address)
        if self.busy_for(address):
            return None
        self._opening.append(key)  # the seat is taken before the first await, so two pages cannot both get the last
        try:
            # aiortc (about 35 MB) is loaded with the first test call, not by every worker at start, and in
            # a thread, so that the event loop does not stall while it loads.
            await asyncio.to_thread(importlib.import_module, 'skycall.bot.client')
            room = await self.calls.start(address)
            person = await self.calls.ticket(room, name)
            echo = await self.calls.ticket(room, ECHO_NAME)
        finally:
            self._opening.remove(key)
        for earlier in [s for s in self.sessions if s.address == key and not s.released]:
            earlier.released = True
            earlier.stop(REPLACED)
        session = self._start(room, person, self.calls.sign(echo), key)  # no await since the seat was counted
        bot = session.bot
        joined = asyncio.create_task(bot.joined.wait())
        await asyncio.wait([joined, session.task], timeout=JOIN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not bot.joined.is_set():
            joined.cancel()
            session.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.task, 5)
            message = session.outcome.message if session.outcome else 'no answer'
            raise EchoUnavailable(f'The echo peer could not join its room: {message}')
        return session

    async def close(self) -> None:
        """End every session (the worker shuts down) and wait until their peer connections are closed."""
        sessions = list(self.sessions)
        for session in sessions:
            session.stop('The server is shutting down.')
        tasks = [s.task for s in sessions]
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _start(self, room: str, person: Ticket, echo_ticket: str, key: str) -> EchoSession:
        from ..bot.client import Bot
        from ..bot.media import EchoMedia

        bot = Bot(self.server_url, room, ECHO_NAME, EchoMedia(), ice_servers=self.ice_servers,
                  ticket=echo_ticket, duration=self.seconds, alone_timeout=ARRIVAL_SECONDS,
                  allow_private_candidates=self.allow_private_candidates,
                  admit=lambda peer: peer.id == person.peer, out=lambda line: log.debug('echo %s: %s', room, line))
        session = EchoSession(room, person, bot, self.seconds, key)
        self.sessions.add(session)
        session.task = asyncio.create_task(self._run(session), name=f'echo-{room}')
        return session

    async def _run(self, session: EchoSession) -> None:
        """The bot's whole life; whatever happens in it ends this session only."""
        arrival = asyncio.create_task(self._await_media(session))
        try:
            session.outcome = await session.bot.run()
            if session.busy:
                from ..bot.client import Outcome

                session.outcome = Outcome(ok=False, kind='busy', message=BUSY)
        except Exception as error:  # noqa: BLE001 (one broken session must not take the worker down)
            from ..bot.client import Outcome

            log.exception('echo session %s failed', session.room)
            session.outcome = Outcome(ok=False, kind='call-failed', message=f'The test call failed ({error}).')
        finally:
            arrival.cancel()
            self.sessions.discard(session)
            session.ended.set()
            if session.outcome is not None and not session.outcome.ok:
                log.info('echo session ended: %s', session.outcome.message)


    async def _await_media(self, session: EchoSession) -> None:
        """Count the session from its person's first frame on, or end it if the line filled up meanwhile."""
        with contextlib.suppress(TimeoutError):
            await session.bot.wait_for(session.has_media, within=session.seconds)
        if not session.has_media():
            return
        if not session.holds_seat(time.monotonic()) and self.seats_taken() >= self.capacity:
            session.released = session.busy = True
            session.stop(BUSY)
        else:
            session.media_since = time.monotonic()


def address_key(address: str) -> str:
    """Whose session it is: the client's address, or for IPv6 its /64 (one household or host has a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def local_url(host: str, port: int) -> str:
    """How a client inside this process reaches the server it runs in."""
    host = {'': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)  # noqa: S104 (mapped, not bound)
    return f'http://[{host}]:{port}' if ':' in host else f'http://{host}:{port}'
