"""What the server sends (docs/protocol.md, "Server to client" and the acknowledgements), as models.

The server builds every event and acknowledgement from these and sends ``wire()``; a client (or a test)
can parse what it receives with them. Identities in them are the server's stamps, never a client's words.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import MESSAGES, SkyCallError
from .inbound import MAX_ID, ChatText, Id, Name, Signal, SignalPayload


class Event(BaseModel):
    """A server-to-client event or acknowledgement; ``event`` names it on the wire."""

    # Built by the server: a misspelt or unexpected field is a bug, so it is refused rather than dropped.
    model_config = ConfigDict(extra='forbid', frozen=True, strict=True, validate_by_name=True)
    event: ClassVar[str]

    def wire(self) -> dict[str, Any]:
        """The JSON object that is sent: aliases (``from``) applied, absent optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Peer(Event):
    """Someone in a room, as the others know them: the room-scoped peer id and the ticket's name."""

    id: Id
    name: Name


class PeerJoined(Peer):
    event = 'peer-joined'


class Knock(Peer):
    event = 'knock'


class PeerLeft(Peer):
    event = 'peer-left'
    reason: Literal['left', 'disconnected', 'replaced']


class KnockEnded(Peer):
    """To the members, and at ``no-answer`` (the ring timeout) to the knocker too."""

    event = 'knock-ended'
    reason: Literal['answered', 'declined', 'cancelled', 'no-answer']


class Admitted(Event):
    """To the knocker: let in ``by`` a member, or by the server (``reason`` "empty") when the last member left."""

    event = 'admitted'
    by: Name | None = None
    reason: Literal['empty'] | None = None

    @model_validator(mode='after')
    def _by_someone_or_empty(self) -> Admitted:
        if (self.by is None) == (self.reason is None):
            raise ValueError('admitted names the member who answered, or says the room was empty')
        return self


class Declined(Event):
    event = 'declined'
    by: Name


class PeerState(Event):
    event = 'peer-state'
    id: Id
    audio: bool
    video: bool


class RelayedSignal(SignalPayload):
    """A ``signal`` as its target receives it: the payload, stamped with the sender's peer id."""

    model_config = ConfigDict(extra='forbid', validate_by_name=True)
    event: ClassVar[str] = 'signal'
    sender: Id = Field(alias='from')

    @classmethod
    def stamped(cls, sender: str, signal: Signal) -> RelayedSignal:
        """``signal`` from ``sender``; not validated again, as ``signal`` was parsed and ``sender`` is ours."""
        return cls.model_construct(sender=sender, description=signal.description, candidate=signal.candidate,
                                   renegotiate=signal.renegotiate)

    def wire(self) -> dict[str, Any]:
        # Not exclude_none: "candidate": null (end of candidates) is a payload of its own.
        return {'from': self.sender, **self.payload()}


class ChatMessage(Event):
    """A chat line as everyone in the room receives it, and as the room's history keeps it."""

    event = 'chat'
    id: Id
    sender: Id = Field(alias='from')
    name: Name
    text: ChatText
    ts: float  # the server's time, seconds since the epoch


class ErrorReply(Event):
    """The ``error`` event, and the acknowledgement of a message that failed."""

    event = 'error'
    ok: Literal[False] = False
    code: str = Field(max_length=32)
    message: str = Field(max_length=300)
    # The event that failed; absent for an event the server does not know.
    failed: str | None = Field(default=None, alias='event', max_length=MAX_ID)

    @field_validator('code')
    @classmethod
    def _known_code(cls, code: str) -> str:
        if code not in MESSAGES:
            raise ValueError('not an error code')
        return code

    @classmethod
    def of(cls, error: SkyCallError, failed: str | None) -> ErrorReply:
        return cls(code=error.code, message=error.message, failed=failed)


# Acknowledgements: the reply to a client's event, named after that event.

class Ok(Event):
    """A plain success: ``answer``, ``decline``, ``state``, ``signal``, ``leave``."""

    ok: Literal[True] = True


class ChatSent(Ok):
    """``chat`` succeeded; ``id`` is the message's id, as in the ``chat`` event everyone receives."""

    id: Id


class JoinReply(Ok):
    """Seated (with the others and the room's chat history) or waiting at the door (neither)."""

    waiting: bool
    you: Peer
    peers: list[Peer]
    history: list[ChatMessage] | None = None

    @model_validator(mode='after')
    def _history_when_seated(self) -> JoinReply:
        if self.waiting != (self.history is None) or (self.waiting and self.peers):
            raise ValueError('a seated reply carries the history, a waiting one neither peers nor history')
        return self


Outbound = Event | RelayedSignal  # what the server sends: each has ``event`` and ``wire()``

# Every server-to-client event, and every acknowledgement by the client event it answers.
OUTBOUND: dict[str, type[Outbound]] = {
    model.event: model for model in (PeerJoined, PeerLeft, Knock, KnockEnded, Admitted, Declined, PeerState,
                                     RelayedSignal, ChatMessage, ErrorReply)
}
ACKS: dict[str, type[Event]] = {
    'join': JoinReply, 'answer': Ok, 'decline': Ok, 'state': Ok, 'signal': Ok, 'chat': ChatSent, 'leave': Ok,
}
