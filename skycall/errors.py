"""The few errors SkyCall reports, each with a stable code and the sentence a person sees.

MESSAGES is the one place those sentences are written; docs/protocol.md's error table shows the same
ones (tests/test_protocol_doc.py compares them). ``{limit}`` is filled in with the field's limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MESSAGES: dict[str, str] = {
    'bad-message': 'SkyCall could not understand a message. Reload the page if the call misbehaves.',
    'too-large': 'The message is too long (at most {limit} characters).',
    'bad-ticket': 'Your invitation has expired. Open the link again.',
    'no-such-room': 'This call does not exist or has ended.',
    'room-full': 'This call is full.',
    'not-joined': 'You are not in the call any more. Reload the page to rejoin.',
    'no-such-peer': 'That person is not in this call.',
    'rate-limited': 'You are sending messages too fast.',
    'replaced': 'You joined this call from another tab.',
    'unavailable': 'The call service is having trouble reaching the other side. Try again in a moment.',
}


@dataclass(slots=True)
class SkyCallError(Exception):
    """An error with a stable machine-readable ``code`` and a human ``message``."""

    code: str
    message: str = ''

    def __post_init__(self) -> None:
        if self.code not in MESSAGES:
            raise ValueError(f'unknown error code {self.code!r}')
        if not self.message:
            self.message = MESSAGES[self.code]

    def to_dict(self, event: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {'ok': False, 'code': self.code, 'message': self.message}
        if event:
            payload['event'] = event
        return payload


def too_large(limit: int) -> SkyCallError:
    """The error for a field over its length limit of ``limit`` characters."""
    return SkyCallError('too-large', MESSAGES['too-large'].format(limit=limit))
