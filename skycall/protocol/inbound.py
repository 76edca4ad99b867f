"""What clients send (docs/protocol.md, "Client to server"): typed, validated, with their limits.

Raw dicts from the network stop here: ``parse`` turns one into a model or a SkyCallError.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..errors import SkyCallError, too_large

MAX_NAME = 64
MAX_CHAT = 2000
MAX_SDP = 32 * 1024
MAX_CANDIDATE = 512
MAX_FRAME = 64 * 1024
MAX_ID = 64

_CONTROL = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029]')
_ID = re.compile(r'^[A-Za-z0-9_-]+$')

log = logging.getLogger(__name__)


def _strip(value: Any) -> Any:
    # Trim before the length check: the limits are on what is kept.
    return value.strip() if isinstance(value, str) else value


class PersonMessage(ValueError):
    """A refusal whose text is written for the person who typed the value (shown by the name dialog, the API)."""


# What shows nothing by itself: spaces, combining marks, format, control, private-use and unassigned code points,
# surrogates, and the few letters and symbols that are drawn blank (Hangul fillers, the braille blank).
_UNSEEN_CATEGORIES = frozenset({'Zs', 'Zl', 'Zp', 'Mn', 'Me', 'Cf', 'Cc', 'Co', 'Cn', 'Cs'})
_BLANK = frozenset('\u115f\u1160\u3164\uffa0\u2800')
# Zero-width (non-)joiners shape emoji sequences and letters in Persian or Indic scripts: allowed between two
# characters that show, never at either end or doubled, so they can neither hide a name nor reorder text.
_JOINERS = frozenset('\u200c\u200d')


def _seen(char: str) -> bool:
    return char not in _BLANK and unicodedata.category(char) not in _UNSEEN_CATEGORIES


def name_problem(value: str) -> str | None:
    """Why ``value`` (already trimmed) cannot be a display name, in words for the person; None when it can.

    Refused: nothing; control characters; format characters (Unicode category Cf: bidi overrides, embeddings and
    isolates, direction marks, zero-width spaces), which could reverse the words shown around the name or hide
    it; and names that show nothing at all (only spaces, combining marks, blank letters).
    """
    if not value:
        return 'Please type your name.'
    if _CONTROL.search(value):
        return 'Please use letters, digits and punctuation only.'
    for at, char in enumerate(value):
        if unicodedata.category(char) == 'Cf' and not (
                char in _JOINERS and 0 < at < len(value) - 1 and _seen(value[at - 1]) and _seen(value[at + 1])):
            return 'Please leave out invisible formatting characters (direction marks, zero-width spaces).'
    if not any(_seen(char) for char in value):
        return 'Please type a name that can be seen.'
    return None


def _clean_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise PersonMessage(problem)
    return value


def _clean_text(value: str) -> str:
    if not value:
        raise ValueError('a message cannot be empty')
    return value


def _clean_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError('not an id')
    return value


Name = Annotated[str, BeforeValidator(_strip), Field(max_length=MAX_NAME), AfterValidator(_clean_name)]
ChatText = Annotated[str, BeforeValidator(_strip), Field(max_length=MAX_CHAT), AfterValidator(_clean_text)]
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID), AfterValidator(_clean_id)]


def new_room_id() -> str:
    """128 random bits, URL-safe: the only secret that opens a call."""
    return secrets.token_urlsafe(16)


def new_peer_id() -> str:
    return secrets.token_urlsafe(8)


def is_room_id(value: str) -> bool:
    return 16 <= len(value) <= MAX_ID and bool(_ID.match(value))


class Message(BaseModel):
    # Unknown fields (a client's own "from" or "name") are ignored, never trusted.
    model_config = ConfigDict(extra='ignore', frozen=True, strict=True)


class Join(Message):
    ticket: str = Field(min_length=1, max_length=2048)


class SessionDescription(Message):
    type: Literal['offer', 'answer']
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


def _ascii(value: str) -> str:
    if not value.isascii():
        raise ValueError('an ICE candidate is ASCII text')
    return value


class Candidate(Message):
    # ASCII only, so the limit in characters is the limit in bytes.
    candidate: Annotated[str, Field(max_length=MAX_CANDIDATE), AfterValidator(_ascii)]
    sdpMid: str | None = Field(default=None, max_length=32)  # noqa: N815 (the WebRTC field name)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=1024)  # noqa: N815
    usernameFragment: str | None = Field(default=None, max_length=256)  # noqa: N815


class SignalPayload(Message):
    """Exactly one of a session description, an ICE candidate (None: end of candidates) or a renegotiation
    request: what a ``signal`` carries, in both directions."""

    description: SessionDescription | None = None
    candidate: Candidate | None = None
    renegotiate: Literal[True] | None = None

    @model_validator(mode='before')
    @classmethod
    def _one_payload(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if sum(key in data for key in PAYLOADS) != 1:
                raise ValueError('a signal carries exactly one of "description", "candidate" and "renegotiate"')
            if data.get('description', 0) is None or data.get('renegotiate', True) is not True:
                raise ValueError('"description" must be an object and "renegotiate" must be true')
        return data

    def payload(self) -> dict[str, Any]:
        """The one payload as it goes on the wire (a candidate without its unset fields)."""
        if self.description is not None:
            return {'description': self.description.model_dump()}
        if self.renegotiate:
            return {'renegotiate': True}
        return {'candidate': self.candidate.model_dump(exclude_none=True) if self.candidate else None}


class Signal(SignalPayload):
    to: Id


PAYLOADS = ('description', 'candidate', 'renegotiate')


class Chat(Message):
    text: ChatText


class Leave(Message):
    pass


class KnockReply(Message):
    """``answer`` or ``decline``: what a member says to someone knocking."""

    id: Id


class MediaState(Message):
    audio: bool
    video: bool


class NewTicket(Message):
    """Body of ``POST /api/rooms/{room}/tickets``."""

    name: Name


# Every client-to-server event and the model its one argument is parsed with (the namespace dispatches on it).
INBOUND: dict[str, type[Message]] = {
    'join': Join, 'answer': KnockReply, 'decline': KnockReply, 'state': MediaState, 'signal': Signal,
    'chat': Chat, 'leave': Leave,
}

M = TypeVar('M', bound=Message)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``, or raise a SkyCallError with a stable code."""
    if data is None and model is Leave:
        data = {}
    if not isinstance(data, dict):
        raise SkyCallError('bad-message')
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _to_skycall_error(error) from None


def _to_skycall_error(error: ValidationError) -> SkyCallError:
    # The person reads the sentence of errors.MESSAGES; the technical reason goes to the server's log.
    for detail in error.errors():
        if detail['type'] in {'string_too_long', 'too_long'}:
            return too_large(int((detail.get('ctx') or {}).get('max_length', 0)))
    detail = error.errors()[0]
    field = '.'.join(str(part) for part in detail['loc']) or 'message'
    reason = (detail.get('ctx') or {}).get('error')
    if isinstance(reason, PersonMessage):  # a name the person can correct: say how
        return SkyCallError('bad-message', str(reason))
    log.debug('bad message: "%s": %s', field, str(detail['msg']).removeprefix('Value error, '))
    return SkyCallError('bad-message')
