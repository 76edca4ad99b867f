"""Signed, short-lived join tickets: they tie a socket to one room, one name and one peer id."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from .errors import SkyCallError
from .protocol import MAX_NAME, is_room_id, name_problem


@dataclass(frozen=True, slots=True)
class Ticket:
    room: str
    name: str
    peer: str


class TicketMint:
    """Issues and checks tickets with the server's secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt='skycall-ticket')
        self._max_age = max_age_seconds

    def issue(self, ticket: Ticket) -> str:
        return self._serializer.dumps({'r': ticket.room, 'n': ticket.name, 'p': ticket.peer})

    def check(self, token: str) -> Ticket:
        try:
            data = self._serializer.loads(token, max_age=self._max_age)
        except BadSignature:  # also SignatureExpired, a subclass
            raise SkyCallError('bad-ticket') from None
        room, name, peer = data.get('r'), data.get('n'), data.get('p')
        if not (isinstance(room, str) and is_room_id(room) and isinstance(name, str)
                and 0 < len(name) <= MAX_NAME and name_problem(name) is None and isinstance(peer, str) and peer):
            raise SkyCallError('bad-ticket')
        return Ticket(room=room, name=name, peer=peer)
