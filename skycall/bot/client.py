"""A SkyCall participant written in Python: one signaling connection, one peer link per remote participant."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from aiortc import MediaStreamTrack

from .events import LinkEvent, Outcome, Stop
from .media import MediaSource
from .peers import PeerLink
from .reception import Received, Reception, printable
from .signaling import (
    Admission,
    BotError,
    ChatMessage,
    Disconnected,
    Event,
    Joined,
    Knock,
    Peer,
    PeerJoined,
    PeerLeft,
    ServerError,
    Signal,
    Signaling,
)

log = logging.getLogger(__name__)
Admit = Callable[[Peer], bool | None]  # who a bot in the room lets in


class Bot:
    """Joins ``room`` on ``server`` as ``name``, sends ``media``, and takes part until ``run()`` returns an Outcome.

    When others are in the room already, the bot knocks and waits up to ``ring_timeout`` to be let in.
    ``admit`` decides about people knocking while the bot is seated: True lets them in, False turns
    them away, None leaves it to the others in the call. The call ends when the last other
    participant leaves, after ``duration`` seconds, on ``stop()``, or with an error (server
    unreachable, no such room, not let in, every peer connection failed). The others' LAN, loopback and
    other non-public addresses are tried only with ``allow_private_candidates`` (see candidates.py).
    """

    def __init__(self, server: str, room: str, name: str, media: MediaSource, *,
                 ice_servers: Iterable[str] = (), say: Iterable[str] = (), duration: float | None = None,
                 record: str | None = None, ticket: str | None = None, connect_timeout: float = 20.0,
                 ring_timeout: float = 30.0, alone_timeout: float | None = None, admit: Admit | None = None,
                 local_address: str | None = None, allow_private_candidates: bool = False,
                 out: Callable[[str], None] | None = None) -> None:
        self.media = media
        self.allow_private_candidates = allow_private_candidates
        self.ring_timeout = ring_timeout
        self.admit = admit
        self.ice_servers = list(ice_servers)
        self.say = list(say)
        self.duration = duration
        self.connect_timeout = connect_timeout
        self.alone_timeout = alone_timeout
        self.out = out or (lambda line: log.info('%s', line))
        self.signaling = Signaling(server, room, name, self._post, ticket=ticket, local_address=local_address)
        self.reception = Reception(media.relay, record, self.out, self._notify)
        self.knocking = asyncio.Event()
        self.joined = asyncio.Event()
        self.me: Peer | None = None
        self.links: dict[str, PeerLink] = {}
        self._names: dict[str, str] = {}
        self._events: asyncio.Queue[Event | LinkEvent | Stop] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._started: dict[str, float] = {}
        self._said = False
        self._had_company = False

    async def run(self) -> Outcome:
        """Join, take part until the call ends, then close every peer connection and leave."""
        try:
            joined = await self.signaling.connect()
            self.me = joined.you
            if joined.waiting:
                entered = await self._knock()
                if isinstance(entered, Outcome):
                    return entered
                joined = entered
            self.joined.set()
            await self._send_state()
            for peer in joined.peers:  # we are the newcomer: we offer to everyone already there
                self._link(peer, offerer=True)
            return await self._loop()
        except BotError as error:
            return Outcome(ok=False, kind=error.kind, message=error.message)
        finally:
            await self._shutdown()

    def stop(self, reason: str = 'Left the call.') -> None:
        """End the call from outside (Ctrl-C, the end of an echo session)."""
        self._events.put_nowait(Stop(reason=reason))

    async def wait_for(self, condition: Callable[[], bool], within: float) -> None:
        """Wait until ``condition()`` holds, at most ``within`` seconds; checked at every frame, chat line, event."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    @property
    def received(self) -> Received:
        return self.reception.received

    async def round_trip_time(self) -> float | None:
        for link in list(self.links.values()):
            rtt = await link.round_trip_time()
            if rtt is not None:
                return rtt
        return None

    async def _knock(self) -> Joined | Outcome:
        """Wait to be let in (docs/protocol.md, ``join``): join again once admitted."""
        self.out('Knocking: waiting for someone in the call to let you in…')
        self.knocking.set()
        try:
            async with asyncio.timeout(self.ring_timeout):
                while True:
                    match await self._events.get():
                        case Admission(admitted=True, by=by):
                            joined = await self.signaling.join()
                            if not joined.waiting:
                                self.out(f'{printable(by) or "Someone"} let you in')
                                return joined
                        case Admission(admitted=False, by=by):
                            raise BotError('refused', f'{printable(by) or "Someone"} declined your call.')
                        case Stop(reason=reason):
                            return Outcome(ok=True, kind='stopped', message=reason)
                        case Disconnected(reason=reason):
                            raise BotError('unreachable', f'Lost the connection to the server ({reason}).')
                        case ServerError(code='replaced', message=message):
                            raise BotError('refused', message)
        except TimeoutError:
            raise BotError('refused', f'No answer: nobody let you in within {self.ring_timeout:g} s.') from None

    async def _send_state(self) -> None:
        await self.signaling.state(audio='audio' in self.media.kinds, video='video' in self.media.kinds)

    async def _loop(self) -> Outcome:
        started = time.monotonic()
        while True:
            deadline, outcome = self._next_deadline(started)
            try:
                async with asyncio.timeout(None if deadline is None else max(deadline - time.monotonic(), 0)):
                    event = await self._events.get()
            except TimeoutError:
                if outcome is not None:
                    return outcome
                continue  # a connect deadline: _check_connect_deadlines below reports it
            finally:
                self._check_connect_deadlines()
            result = await self._dispatch(event)
            await self._notify()
            if result is not None:
                return result

    async def _dispatch(self, event: Event | LinkEvent | Stop) -> Outcome | None:
        match event:
            case Stop(reason=reason):
                return Outcome(ok=True, kind='stopped', message=reason)
            case PeerJoined(peer=peer):
                self._names[peer.id] = peer.name
                await self._drop(peer.id)  # the same person back after a reload: wait for their fresh offer
                self.out(f'{printable(peer.name)} joined the call')
                await self._send_state()  # the newcomer learns whether we send sound and picture
            case Knock(peer=peer, ended=False):
                await self._on_knock(peer)
            case PeerLeft(peer=peer, reason=reason):
                await self._drop(peer.id)
                if reason != 'replaced':
                    self.out(f'{printable(peer.name)} left the call')
                    if self._had_company and not self.links:
                        return Outcome(ok=True, kind='hung-up', message=f'{printable(peer.name)} hung up.')
            case Signal():
                link = self.links.get(event.sender)
                if link is None and isinstance(event.description, dict) and event.description.get('type') == 'offer':
                    link = self._link(Peer(id=event.sender, name=self._names.get(event.sender, '')), offerer=False)
                if link is not None:
                    link.handle(event)
            case ChatMessage():
                self.received.chat.append(event)
                self.out(f'[{time.strftime("%H:%M:%S", time.localtime(event.ts))}] {printable(event.name)}: '
                         f'{printable(event.text)}')
            case ServerError(code=code, message=message):
                if code == 'replaced':
                    return Outcome(ok=False, kind='refused', message=message)
                if code != 'no-such-peer':
                    self.out(f'The server refused a message: {message}')
            case Disconnected(reason=reason):
                return Outcome(ok=False, kind='unreachable', message=f'Lost the connection to the server ({reason}).')
            case LinkEvent():
                return await self._on_link_event(event)
        return None

    async def _on_knock(self, peer: Peer) -> None:
        decision = self.admit(peer) if self.admit is not None else None
        name = printable(peer.name)
        if decision is None:
            self.out(f'{name} wants to join (start the bot with --admit to let people in)')
        else:
            await self.signaling.answer(peer.id, decision)
            self.out(f'Let {name} in' if decision else f'Turned {name} away')

    async def _on_link_event(self, event: LinkEvent) -> Outcome | None:
        link = event.link
        if self.links.get(link.peer.id) is not link:
            return None  # a link already dropped
        if event.what == 'negotiated':
            tracks = [t.receiver.track for t in link.pc.getTransceivers() if t.receiver.track is not None]
            await self.reception.record(link.peer, tracks)
        elif event.what == 'state' and event.detail == 'connected':
            self._had_company = True
            self._started.pop(link.peer.id, None)
            self.out(f'Connected with {printable(link.peer.name) or link.peer.id}')
            if not self._said:
                self._said = True
                for line in self.say:
                    try:
                        await self.signaling.chat(line)
                    except BotError as error:
                        self.out(f'Could not send "{printable(line)}": {error.message}')
        elif event.what == 'failed' or (event.what == 'state' and event.detail == 'failed'):
            reason = event.detail if event.what == 'failed' else f'no network path to {link.peer.name} (ICE failed)'
            return await self._fail(link, reason)
        return None

    async def _fail(self, link: PeerLink, reason: str) -> Outcome | None:
        reason = printable(reason)  # it may quote what the other side sent
        self.out(f'The call with {printable(link.peer.name) or link.peer.id} failed: {reason}')
        await self._drop(link.peer.id)
        self._had_company = True
        if not self.links:
            return Outcome(ok=False, kind='call-failed', message=f'The call failed: {reason}')
        return None

    def _next_deadline(self, started: float) -> tuple[float | None, Outcome | None]:
        """The nearest moment something must happen, and the outcome if it is the end of the call."""
        candidates: list[tuple[float, Outcome | None]] = [(t + self.connect_timeout, None)
                                                          for t in self._started.values()]
        if self.duration is not None:
            candidates.append((started + self.duration,
                               Outcome(ok=True, kind='duration', message=f'Left after {self.duration:g} s.')))
        if self.alone_timeout is not None and not self._had_company and not self.links:
            candidates.append((started + self.alone_timeout,
                               Outcome(ok=True, kind='alone', message='Nobody came.')))
        if not candidates:
            return None, None
        return min(candidates, key=lambda item: item[0])

    def _check_connect_deadlines(self) -> None:
        now = time.monotonic()
        for peer_id, since in list(self._started.items()):
            if now - since >= self.connect_timeout and peer_id in self.links:
                del self._started[peer_id]
                detail = f'not connected after {self.connect_timeout:g} s'
                self._post(LinkEvent(link=self.links[peer_id], what='failed', detail=detail))

    def _link(self, peer: Peer, offerer: bool) -> PeerLink:
        async def send(payload: dict[str, object]) -> None:
            await self.signaling.send(peer.id, payload)

        link = PeerLink(peer, offerer=offerer, ice_servers=self.ice_servers, media=self.media, send=send,
                        on_track=self._on_track,
                        on_event=lambda lnk, what, detail: self._post(LinkEvent(link=lnk, what=what, detail=detail)),
                        allow_private=self.allow_private_candidates)
        self.links[peer.id] = link
        self._started[peer.id] = time.monotonic()
        return link

    async def _drop(self, peer_id: str) -> None:
        self._started.pop(peer_id, None)
        link = self.links.pop(peer_id, None)
        if link is not None:
            await link.close()

    def _on_track(self, link: PeerLink, track: MediaStreamTrack) -> None:
        self.reception.track(link.peer, track)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _post(self, event: Event | LinkEvent | Stop) -> None:
        self._events.put_nowait(event)

    async def _shutdown(self) -> None:
        """Close every peer connection, stop recording and sending, leave the room."""
        for peer_id in list(self.links):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drop(peer_id), 5)
        await self.reception.close()
        self.media.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.signaling.close(), 5)

