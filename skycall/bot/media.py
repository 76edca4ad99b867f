"""What a bot sends: the interface, a media file, or (for the echo line) what it receives.

The synthetic camera and tone are in pattern.py (they need numpy; the echo line does not).
"""

from __future__ import annotations

from typing import Protocol

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay


class MediaSource(Protocol):
    """Gives each peer connection what it sends. ``relay`` also serves the tracks the bot receives."""

    relay: MediaRelay
    kinds: frozenset[str]  # what it sends: told to the room as the `state` message

    def track_for(self, kind: str, received: MediaStreamTrack | None) -> MediaStreamTrack | None:
        """A track of ``kind`` to send to one peer (``received``: that peer's own track of that kind), or None."""
        ...

    def stop(self) -> None: ...


class FileMedia:
    """A media file (``--play``), decoded once and relayed to every peer. Kinds the file lacks are not sent."""

    def __init__(self, path: str, loop: bool = False) -> None:
        self.player = MediaPlayer(path, loop=loop)
        self.relay = MediaRelay()
        self.kinds = frozenset(kind for kind, track in (('audio', self.player.audio), ('video', self.player.video))
                               if track is not None)

    def track_for(self, kind: str, received: MediaStreamTrack | None) -> MediaStreamTrack | None:
        source = self.player.audio if kind == 'audio' else self.player.video if kind == 'video' else None
        return self.relay.subscribe(source) if source is not None else None

    def stop(self) -> None:
        for track in (self.player.audio, self.player.video):
            if track is not None:
                track.stop()


class EchoMedia:
    """Sends each peer its own tracks back (the echo test line)."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.kinds = frozenset(('audio', 'video'))  # whatever the person sends comes back

    def track_for(self, kind: str, received: MediaStreamTrack | None) -> MediaStreamTrack | None:
        # Unbuffered: a late frame is dropped rather than queued, so the delay stays what the network makes it.
        return self.relay.subscribe(received, buffered=False) if received is not None else None

    def stop(self) -> None:
        pass
