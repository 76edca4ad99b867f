"""What a bot's run loop handles besides the server's events, and how its call ended."""

from __future__ import annotations

from dataclasses import dataclass

from .peers import PeerLink


@dataclass(kw_only=True, slots=True)
class Outcome:
    """How a bot's call ended. ``kind``: hung-up, duration, stopped, alone, or a BotError kind."""

    ok: bool
    kind: str
    message: str


@dataclass(kw_only=True, slots=True)
class LinkEvent:
    """Something happened to one peer link (posted to the bot's event queue)."""

    link: PeerLink
    what: str  # state, failed, negotiated
    detail: str


@dataclass(kw_only=True, slots=True)
class Stop:
    """Someone asked the bot to leave."""

    reason: str = 'Left the call.'
