"""What the ``CallView`` element reports, as typed events (like NiceGUI's own ``events.py``).

The browser is as untrusted for Python as for the server: each event's arguments are parsed here,
once, into a dataclass whose every field has its type and a length limit. Pages never see ``e.args``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from nicegui.element import Element
from nicegui.events import UiEventArguments

from ..errors import MESSAGES
from ..protocol import MAX_CHAT, MAX_ID, MAX_NAME

MAX_MESSAGE = 300  # a sentence shown to the person (errors, media problems)
MAX_CODE = 32
MAX_STATUS = 40
MAX_TIME = 16


class Args:
    """An event's arguments from the browser, read field by field as bounded values."""

    def __init__(self, raw: Any) -> None:
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}

    def text(self, key: str, limit: int) -> str:
        value = self.raw.get(key)
        return value[:limit] if isinstance(value, str) else ''

    def flag(self, key: str) -> bool:
        return self.raw.get(key) is True

    def count(self, key: str) -> int:
        value = self.raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000 else 0

    def message(self) -> str:
        """The sentence to show: the one sent, else the one errors.py has for the code."""
        return self.text('message', MAX_MESSAGE) or MESSAGES.get(self.text('code', MAX_CODE), '')


@dataclass(kw_only=True, slots=True)
class StatusEvent(UiEventArguments):
    """What the call is doing, in a word or two ("Connecting…", "Connected", "Reconnecting…")."""

    status: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, status=args.text('status', MAX_STATUS))


@dataclass(kw_only=True, slots=True)
class LayoutEvent(UiEventArguments):
    """The page is phone-sized (or not any more)."""

    phone: bool

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, phone=args.flag('phone'))


@dataclass(kw_only=True, slots=True)
class WaitingEvent(UiEventArguments):
    """We knocked: someone in the call has to answer."""

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client)


@dataclass(kw_only=True, slots=True)
class JoinedEvent(UiEventArguments):
    """We are seated in the call, as peer ``you``."""

    you: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, you=args.text('you', MAX_ID))


@dataclass(kw_only=True, slots=True)
class AdmittedEvent(UiEventArguments):
    """Our knock was answered: by a member, or (``empty``) by the server, as nobody was left in the call."""

    empty: bool

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, empty=args.flag('empty'))


@dataclass(kw_only=True, slots=True)
class NoAnswerEvent(UiEventArguments):
    """Nobody answered our knock: the server ended it at its ring timeout."""

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client)


@dataclass(kw_only=True, slots=True)
class DeclinedEvent(UiEventArguments):
    """Our knock was turned away, by the person named ``by``."""

    by: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, by=args.text('by', MAX_NAME))


@dataclass(kw_only=True, slots=True)
class ProblemEvent(UiEventArguments):
    """A refused join (``join-failed``) or an error from the server, with its errors.py ``code``."""

    code: str
    message: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, code=args.text('code', MAX_CODE), message=args.message())


@dataclass(kw_only=True, slots=True)
class PeerJoinedEvent(UiEventArguments):
    """Someone came into the call."""

    id: str
    name: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, id=args.text('id', MAX_ID), name=args.text('name', MAX_NAME))


@dataclass(kw_only=True, slots=True)
class PeerLeftEvent(UiEventArguments):
    """Someone left: ``known`` if we were linked with them, ``remaining`` links left after it."""

    id: str
    name: str
    reason: str
    known: bool
    remaining: int

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, id=args.text('id', MAX_ID), name=args.text('name', MAX_NAME),
                   reason=args.text('reason', MAX_CODE), known=args.flag('known'), remaining=args.count('remaining'))


@dataclass(kw_only=True, slots=True)
class ChatEvent(UiEventArguments):
    """A chat message, new or (``history``) from before we joined; ``time`` is the browser's local time."""

    id: str
    sender_id: str
    name: str
    text: str
    time: str
    history: bool

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, id=args.text('id', MAX_ID), sender_id=args.text('from', MAX_ID),
                   name=args.text('name', MAX_NAME), text=args.text('text', MAX_CHAT),
                   time=args.text('time', MAX_TIME), history=args.flag('history'))


@dataclass(kw_only=True, slots=True)
class MediaEvent(UiEventArguments):
    """Our own camera and microphone: whether each is sending, and whether we have one at all."""

    audio: bool
    video: bool
    has_audio: bool
    has_video: bool

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, audio=args.flag('audio'), video=args.flag('video'),
                   has_audio=args.flag('hasAudio'), has_video=args.flag('hasVideo'))


@dataclass(kw_only=True, slots=True)
class MediaErrorEvent(UiEventArguments):
    """A camera or microphone that did not start, or stopped (``reason`` "ended")."""

    reason: str
    message: str

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, reason=args.text('reason', MAX_CODE), message=args.message())


@dataclass(kw_only=True, slots=True)
class ConnectionEvent(UiEventArguments):
    """The signaling connection was lost (``lost``) or came back."""

    lost: bool

    @classmethod
    def parse(cls, sender: Element, args: Args) -> Self:
        return cls(sender=sender, client=sender.client, lost=args.text('state', MAX_CODE) == 'lost')
