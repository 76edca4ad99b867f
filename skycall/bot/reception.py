"""What a bot receives: every remote track read to its end and counted, the first peer recorded on request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from .signaling import ChatMessage, Peer

log = logging.getLogger(__name__)
FIRST_FRAME_TIMEOUT = 5.0
AUDIO_ONLY_FORMATS = {'wav', 'mp3', 'ogg', 'opus'}


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
        self.recorder = Recorder(record) if record else None
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
        self.recorder.start([self.relay.subscribe(track) for track in tracks])
        self._out(f'Recording {printable(peer.name) or peer.id}')

    async def close(self) -> None:
        for task in list(self._sinks):
            task.cancel()
        if self.recorder is not None:
            await self.recorder.stop()

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


class Recorder:
    """Writes the tracks of one peer to a file (the format from its name: .mkv, .mp4, .webm, .wav, …).

    Unlike aiortc's MediaRecorder it writes nothing before every track has sent its first frame: the
    file's header needs the picture size, and the sound, which usually comes first, would otherwise be
    written under a header without it (the picture is then lost).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._task: asyncio.Task[None] | None = None

    def start(self, tracks: list[MediaStreamTrack]) -> None:
        self._task = asyncio.create_task(self._run(tracks))

    async def stop(self) -> None:
        """Finish the file; the tracks have ended by now (their peer connection is closed), or are cut."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, tracks: list[MediaStreamTrack]) -> None:
        firsts = await asyncio.gather(*(_first_frame(track) for track in tracks))
        started = [(track, frame) for track, frame in zip(tracks, firsts, strict=True) if frame is not None]
        if not started:
            return
        container = av.open(self.path, mode='w')
        if container.format.name in AUDIO_ONLY_FORMATS:
            started = [(track, frame) for track, frame in started if track.kind == 'audio']
        streams = [_add_stream(container, track.kind, frame) for track, frame in started]
        try:
            await asyncio.gather(*(_write(container, stream, track, frame)
                                   for stream, (track, frame) in zip(streams, started, strict=True)))
        except Exception as error:  # noqa: BLE001 (a recording that fails must not end the call)
            log.warning('recording to %s failed: %s', self.path, error)
        finally:
            for stream in streams:
                with contextlib.suppress(Exception):
                    for packet in stream.encode(None):
                        container.mux(packet)
            container.close()


async def _first_frame(track: MediaStreamTrack) -> Any:
    try:
        return await asyncio.wait_for(track.recv(), FIRST_FRAME_TIMEOUT)
    except (TimeoutError, MediaStreamError):
        return None  # a kind the peer does not send: recorded without it


def _add_stream(container: Any, kind: str, first: Any) -> Any:
    """An audio or video stream for the container's format (as aiortc's MediaRecorder picks codecs)."""
    name = container.format.name
    if kind == 'audio':
        codec = {'wav': 'pcm_s16le', 'mp3': 'mp3', 'ogg': 'libopus', 'opus': 'libopus', 'webm': 'libopus'}
        return container.add_stream(codec.get(name, 'aac'))
    stream = container.add_stream('libvpx' if name == 'webm' else 'libx264', rate=30)
    stream.pix_fmt = 'yuv420p'
    stream.width, stream.height = first.width, first.height
    return stream


async def _write(container: Any, stream: Any, track: MediaStreamTrack, frame: Any) -> None:
    while True:
        for packet in stream.encode(frame):
            container.mux(packet)
        try:
            frame = await track.recv()
        except MediaStreamError:
            return


def printable(text: str) -> str:
    """Text from others as plain text on a terminal: no escape sequences or control characters."""
    return ''.join(ch if ch.isprintable() else ' ' for ch in text)
