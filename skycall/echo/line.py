"""Echo sessions: each one a bot in echo mode, alone in a fresh room with the person testing.

The bot joins its room first, through the same signaling server as everyone, so the person's
browser is the newcomer: it knocks, the bot lets in that one peer id and nobody else, the browser
offers and the bot answers with the browser's own tracks, relayed back (docs/protocol.md, "Python peers (aiortc)").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
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
# The browser has this long to come in after its page was served; then the seat is freed.
ARRIVAL_TIMEOUT = 30.0


class EchoUnavailable(Exception):
    """The echo peer could not join its room (the server could not reach itself)."""


class EchoSession:
    """One person's test call: the room, their ticket, and the echo bot that answers them."""

    task: asyncio.Task[None]  # the bot's run, started by EchoLine

    def __init__(self, room: str, person: Ticket, bot: Bot, seconds: float) -> None:
        self.room = room
        self.person = person
        self.bot = bot
        self.seconds = seconds
        self.started = time.monotonic()
        self.outcome: Outcome | None = None
        self.ended = asyncio.Event()

    def time_left(self) -> float:
        return max(0.0, self.seconds - (time.monotonic() - self.started))

    async def round_trip_time(self) -> float | None:
        """The network round trip to the person in seconds, from the RTCP reports of the media we send them."""
        return await self.bot.round_trip_time()

    def stop(self, reason: str = 'The test call was closed.') -> None:
        if not self.ended.is_set():
            self.bot.stop(reason)


class EchoLine:
    """At most ``capacity`` echo sessions in this worker; beyond that ``open`` answers None (busy)."""

    def __init__(self, calls: Calls, server_url: str, ice_servers: list[str], capacity: int,
                 seconds: float = SESSION_SECONDS, allow_private_candidates: bool = False) -> None:
        self.calls = calls
        self.allow_private_candidates = allow_private_candidates  # see skycall/bot/candidates.py
        self.server_url = server_url
        self.ice_servers = ice_servers  # SkyCall's own only: aiortc's default STUN server is never asked
        self.capacity = capacity
        self.seconds = seconds
        self.sessions: set[EchoSession] = set()
        self._opening = 0

    @classmethod
    def from_settings(cls, calls: Calls, settings: Settings) -> EchoLine:
        # The echo peer reaches this worker's own signaling server directly, not through a proxy in front.
        return cls(calls, local_url(settings.host, settings.port), settings.ice_server_urls, settings.echo_max,
                   allow_private_candidates=settings.allow_private_candidates)

    @property
    def busy(self) -> bool:
        return len(self.sessions) + self._opening >= self.capacity

    async def open(self, address: str, name: str) -> EchoSession | None:
        """Start a session for someone at ``address`` called ``name``; None when the line is busy.

        Raises SkyCallError (rate-limited: too many rooms from that address) or EchoUnavailable.
        """
        if self.busy:
            return None
        self._opening += 1  # the seat is taken before the first await, so two pages cannot both get the last one
        try:
            # aiortc (about 35 MB) is loaded with the first test call, not by every worker at start, and in
            # a thread, so that the event loop does not stall while it loads.
            await asyncio.to_thread(importlib.import_module, 'skycall.bot.client')
            room = await self.calls.start(address)
            person = await self.calls.ticket(room, name)
            echo = await self.calls.ticket(room, ECHO_NAME)
        finally:
            self._opening -= 1
        session = self._start(room, person, self.calls.sign(echo))  # no await since the seat was counted
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

    def _start(self, room: str, person: Ticket, echo_ticket: str) -> EchoSession:
        from ..bot.client import Bot
        from ..bot.media import EchoMedia

        bot = Bot(self.server_url, room, ECHO_NAME, EchoMedia(), ice_servers=self.ice_servers,
                  ticket=echo_ticket, duration=self.seconds, alone_timeout=ARRIVAL_TIMEOUT,
                  allow_private_candidates=self.allow_private_candidates,
                  admit=lambda peer: peer.id == person.peer, out=lambda line: log.debug('echo %s: %s', room, line))
        session = EchoSession(room, person, bot, self.seconds)
        self.sessions.add(session)
        session.task = asyncio.create_task(self._run(session), name=f'echo-{room}')
        return session

    async def _run(self, session: EchoSession) -> None:
        """The bot's whole life; whatever happens in it ends this session only."""
        try:
            session.outcome = await session.bot.run()
        except Exception as error:  # noqa: BLE001 (one broken session must not take the worker down)
            from ..bot.client import Outcome

            log.exception('echo session %s failed', session.room)
            session.outcome = Outcome(ok=False, kind='call-failed', message=f'The test call failed ({error}).')
        finally:
            self.sessions.discard(session)
            session.ended.set()
            if session.outcome is not None and not session.outcome.ok:
                log.info('echo session ended: %s', session.outcome.message)


def local_url(host: str, port: int) -> str:
    """How a client inside this process reaches the server it runs in."""
    host = {'': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)  # noqa: S104 (mapped, not bound)
    return f'http://[{host}]:{port}' if ':' in host else f'http://{host}:{port}'
