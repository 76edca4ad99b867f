"""What a bot receives: every remote track read to its end and counted, the first peer recorded on request."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamError

from .signaling import ChatMessage, Peer


@dataclass(kw_only=True, slots=True)
class Received:
    """What the bot has received so far: frames per (peer id, kind), and chat."""

    frames: Counter[tuple[str, str]] = field(default_factory=Counter)
    chat: list[ChatMessage] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(n for (_, k), n in self.frames.items() if k == kind)


class Reception:
    """Reads each received track through ``relay`` (aiortc queues decoded frames until someone takes them)."""

    def __init__(self, relay: MediaRelay, record: str | None, out: Callable[[str], None],
                 on_frame: Callable[[], Awaitable[None]]) -> None:
        self.relay = relay
        self.received = Received()
        self.recorder = MediaRecorder(record) if record else None
        self.recording: str | None = None
        self._out = out
        self._on_frame = on_frame
        self._sinks: set[asyncio.Task[None]] = set()

    def track(self, peer: Peer, track: MediaStreamTrack) -> None:
        task = asyncio.create_task(self._sink(peer, self.relay.subscribe(track, buffered=False)))
        self._sinks.add(task)
        task.add_done_callback(self._sinks.discard)

    async def record(self, peer: Peer, tracks: list[MediaStreamTrack]) -> None:
        """Record ``peer``'s tracks, if recording was asked for and nobody is recorded yet."""
        if self.recorder is None or self.recording is not None or not tracks:
            return
        self.recording = peer.id
        for track in tracks:
            self.recorder.addTrack(self.relay.subscribe(track))
        await self.recorder.start()
        self._out(f'Recording {printable(peer.name) or peer.id}')

    async def close(self) -> None:
        for task in list(self._sinks):
            task.cancel()
        if self.recorder is not None and self.recording is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.recorder.stop(), 5)

    async def _sink(self, peer: Peer, track: MediaStreamTrack) -> None:
        key = (peer.id, track.kind)
        try:
            while True:
                await track.recv()
                if not self.received.frames[key]:
                    self._out(f'Receiving {track.kind} from {printable(peer.name) or peer.id}')
                self.received.frames[key] += 1
                await self._on_frame()
        except MediaStreamError:
            pass
        finally:
            track.stop()


def printable(text: str) -> str:
    """Text from others as plain text on a terminal: no escape sequences or control characters."""
    return ''.join(ch if ch.isprintable() else ' ' for ch in text)
