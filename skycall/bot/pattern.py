"""The bot's synthetic camera and microphone: a moving test pattern with a clock, and a beep a second."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.02


class SyntheticMedia:
    """A moving test pattern with a clock, and a beep every second: one source, relayed to every peer."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15.0) -> None:
        self.relay = MediaRelay()
        self.sources: dict[str, MediaStreamTrack] = {'video': TestPatternTrack(width, height, fps),
                                                     'audio': ToneTrack()}
        self.kinds = frozenset(self.sources)

    def track_for(self, kind: str, received: MediaStreamTrack | None) -> MediaStreamTrack | None:
        return self.relay.subscribe(self.sources[kind], buffered=False) if kind in self.sources else None

    def stop(self) -> None:
        for track in self.sources.values():
            track.stop()


class _PacedTrack(MediaStreamTrack):
    """A live track that produces its frames in real time, like a camera or a microphone."""

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def _next(self, step: int, rate: int) -> int:
        """Wait until the next frame is due and return its timestamp (``step`` ticks of ``rate`` Hz)."""
        if self.readyState != 'live':
            raise MediaStreamError  # stopped: the relay reading this source ends too
        if self._start is None:
            self._start = time.monotonic()
            return 0
        self._pts += step
        delay = self._start + self._pts / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return self._pts


class TestPatternTrack(_PacedTrack):
    """Colour bars that scroll, a bouncing square and a clock (HH:MM:SS.t), drawn straight in YUV 4:2:0."""

    kind = 'video'

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15.0) -> None:
        super().__init__()
        self.width, self.height = width - width % 2, height - height % 2
        self.fps = fps
        self._bars = _colour_bars(self.width, self.height)

    async def recv(self) -> av.VideoFrame:
        pts = await self._next(round(VIDEO_CLOCK / self.fps), VIDEO_CLOCK)
        seconds = pts / VIDEO_CLOCK
        w, h = self.width, self.height
        image = np.empty_like(self._bars)
        y, u, v = _planes(image, w, h)
        shift = int(seconds * 40) & ~1  # the bars scroll left, 40 pixels a second
        for plane, base, step in zip((y, u, v), _planes(self._bars, w, h), (shift, shift // 2, shift // 2),
                                     strict=True):
            plane[:] = np.roll(base, -step, axis=1)
        size = max(h // 8, 8) & ~1
        x0 = int((w - size) * (0.5 + 0.5 * math.sin(seconds * 1.3))) & ~1
        y0 = int((h - size) * (0.5 + 0.5 * math.sin(seconds * 0.9))) & ~1
        y[y0:y0 + size, x0:x0 + size] = 235
        u[y0 // 2:(y0 + size) // 2, x0 // 2:(x0 + size) // 2] = 128
        v[y0 // 2:(y0 + size) // 2, x0 // 2:(x0 + size) // 2] = 128
        _draw_clock(y, u, v, time.strftime('%H:%M:%S') + f'.{int(time.time() * 10) % 10}')
        frame = av.VideoFrame.from_ndarray(image, format='yuv420p')
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class ToneTrack(_PacedTrack):
    """A 660 Hz beep of a quarter second at the start of every second, silence in between."""

    kind = 'audio'

    def __init__(self, frequency: float = 660.0) -> None:
        super().__init__()
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        t = np.arange(AUDIO_RATE) / AUDIO_RATE
        wave = (np.sin(2 * np.pi * frequency * t) * 8000).astype(np.int16)
        wave[AUDIO_RATE // 4:] = 0
        self._second = wave
        self._samples = samples

    async def recv(self) -> av.AudioFrame:
        pts = await self._next(self._samples, AUDIO_RATE)
        offset = pts % AUDIO_RATE
        chunk = self._second[offset:offset + self._samples].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format='s16', layout='mono')
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


# Colour bars in BT.601 limited range: white, yellow, cyan, green, magenta, red, blue, black.
_BARS_YUV = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
             (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128)]

# Which of the seven segments (a to g, clockwise from the top, g in the middle) each digit lights.
_SEGMENTS = {'0': 'abcdef', '1': 'bc', '2': 'abdeg', '3': 'abcdg', '4': 'bcfg', '5': 'acdfg', '6': 'acdefg',
             '7': 'abc', '8': 'abcdefg', '9': 'abcdfg'}


def _colour_bars(width: int, height: int) -> np.ndarray:
    """One yuv420p picture (planes stacked as av expects) of vertical colour bars."""
    columns = np.arange(width) * len(_BARS_YUV) // width
    half = columns[::2]
    table = np.array(_BARS_YUV, dtype=np.uint8)
    y = np.tile(table[columns, 0], (height, 1))
    u = np.tile(table[half, 1], (height // 2, 1)).reshape(height // 4, width)
    v = np.tile(table[half, 2], (height // 2, 1)).reshape(height // 4, width)
    return np.vstack([y, u, v])


def _planes(image: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a yuv420p picture stacked as av expects it."""
    return image[:h], image[h:h + h // 4].reshape(h // 2, w // 2), image[h + h // 4:].reshape(h // 2, w // 2)


def _draw_clock(y: np.ndarray, u: np.ndarray, v: np.ndarray, text: str) -> None:
    """Seven-segment digits, white on a black box, at the bottom left of the picture."""
    h, w = y.shape
    digit_h = max(h // 10, 10) & ~1
    digit_w = digit_h // 2 & ~1
    stroke = max(digit_h // 8, 2) & ~1
    gap = stroke * 2
    box_w = min(w, len(text) * (digit_w + gap) + gap) & ~1
    top, left = h - digit_h - 3 * gap, 0
    y[top:top + digit_h + 2 * gap, left:left + box_w] = 16
    u[top // 2:(top + digit_h + 2 * gap) // 2, left // 2:(left + box_w) // 2] = 128
    v[top // 2:(top + digit_h + 2 * gap) // 2, left // 2:(left + box_w) // 2] = 128
    x = left + gap
    for char in text:
        if x + digit_w > w:
            break
        if char in _SEGMENTS:
            _draw_digit(y, top + gap, x, digit_w, digit_h, stroke, _SEGMENTS[char])
        elif char == ':':
            for fraction in (0.3, 0.7):
                row = top + gap + int(digit_h * fraction)
                y[row:row + stroke, x + digit_w // 2 - stroke // 2:x + digit_w // 2 + stroke // 2 + 1] = 235
        elif char == '.':
            y[top + gap + digit_h - stroke:top + gap + digit_h, x:x + stroke] = 235
        x += digit_w + gap


def _draw_digit(y: np.ndarray, top: int, left: int, w: int, h: int, s: int, lit: str) -> None:
    mid = top + h // 2 - s // 2
    rects = {
        'a': (top, left, s, w), 'g': (mid, left, s, w), 'd': (top + h - s, left, s, w),
        'f': (top, left, h // 2, s), 'b': (top, left + w - s, h // 2, s),
        'e': (top + h // 2, left, h - h // 2, s), 'c': (top + h // 2, left + w - s, h - h // 2, s),
    }
    for segment in lit:
        row, col, height, width = rects[segment]
        y[row:row + height, col:col + width] = 235
