"""What a browser remembers between visits: the name, the ring preference and its peer id in its last rooms.

One signed cookie and no state on the server. A visitor gets nothing until they press Join (or Start, or
save their name); health checks, API calls and invite pages never create anything. The cookie expires,
holds a bounded amount (the last ``ROOMS_KEPT`` rooms) and is written only when what it holds changes.

The person's choices happen over the page's websocket, where no HTTP response can set a cookie: the
server signs the new value and the page's own JavaScript stores it. Its content is no secret to the page
(which is handed the same name and peer id in its ticket), so the cookie need not be HttpOnly; the
signature keeps anyone from choosing a peer id (someone else's seat) or a name the dialog would refuse.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, field, replace

from itsdangerous import BadSignature, URLSafeTimedSerializer
from nicegui import app, background_tasks, context, ui

from ..protocol import NewTicket, is_room_id, parse

COOKIE = 'skycall'
MAX_AGE_SECONDS = 30 * 24 * 3600  # a month without a call, and the browser forgets
REFRESH_SECONDS = 24 * 3600  # a Join rewrites an unchanged cookie at most once a day, to push its expiry on
ROOMS_KEPT = 5  # enough to come back to the calls of the day; the cookie stays far below 4 KiB
_PEER = re.compile(r'[A-Za-z0-9_-]{8,64}')
_KEY = 'skycall-memory'  # this page's copy, in NiceGUI's per-connection storage (gone with the page)


@dataclass(frozen=True, slots=True)
class Memory:
    """What one browser remembers; ``written`` is when its cookie was signed (0: never)."""

    name: str = ''
    ring: bool = False
    peers: tuple[tuple[str, str], ...] = ()
    written: float = field(default=0.0, compare=False)

    def peer(self, room: str) -> str | None:
        """This browser's peer id in ``room``, if it was there lately."""
        return next((peer for known, peer in self.peers if known == room), None)

    def with_peer(self, room: str, peer: str) -> Memory:
        """The same, with ``room`` as the latest room; the oldest rooms beyond ``ROOMS_KEPT`` are forgotten."""
        others = tuple(entry for entry in self.peers if entry[0] != room)
        return replace(self, peers=(*others, (room, peer))[-ROOMS_KEPT:])

    def named(self, name: str) -> Memory:
        return replace(self, name=name.strip())

    def ringing(self, ring: bool) -> Memory:
        return replace(self, ring=ring)


class Signer:
    """Turns a Memory into the cookie's value and back, with the server's secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt='skycall-browser')

    def dumps(self, memory: Memory) -> str:
        return self._serializer.dumps({'n': memory.name, 'r': memory.ring, 'p': [list(e) for e in memory.peers]})

    def loads(self, value: str | None) -> Memory:
        """The memory in a cookie; an empty one for a missing, forged, expired or malformed cookie."""
        if not value or len(value) > 4096:
            return Memory()
        try:
            data, signed = self._serializer.loads(value, max_age=MAX_AGE_SECONDS, return_timestamp=True)
        except (BadSignature, ValueError):  # SignatureExpired is a BadSignature
            return Memory()
        if not isinstance(data, dict):
            return Memory()
        name, ring, peers = data.get('n'), data.get('r'), data.get('p')
        return Memory(name=name if isinstance(name, str) and _valid_name(name) else '',
                      ring=ring is True,
                      peers=tuple((e[0], e[1]) for e in (peers if isinstance(peers, list) else [])[-ROOMS_KEPT:]
                                  if _valid_entry(e)),
                      written=signed.timestamp())


def _valid_name(name: str) -> bool:
    try:
        parse(NewTicket, {'name': name})
    except Exception:  # noqa: BLE001 (whatever the refusal: forget the name)
        return False
    return True


def _valid_entry(entry: object) -> bool:
    return (isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)
            and is_room_id(entry[0]) and bool(_PEER.fullmatch(entry[1])))


_signer: Signer | None = None


def configure(secret: str) -> None:
    """Sign with ``secret`` (the app's, so that every worker reads every other's cookies)."""
    global _signer  # noqa: PLW0603 (one secret per process, set once at start)
    _signer = Signer(secret)


def _the_signer() -> Signer:
    if _signer is None:
        raise RuntimeError('pages.memory.configure(secret) was not called')
    return _signer


def recall() -> Memory:
    """What this page's browser remembers: its cookie as the page was requested, or what the page wrote since."""
    storage = app.storage.client
    if _KEY not in storage:
        storage[_KEY] = _the_signer().loads(context.client.request.cookies.get(COOKIE))
    memory = storage[_KEY]
    assert isinstance(memory, Memory)
    return memory


async def remember(memory: Memory) -> None:
    """Store ``memory`` in the browser, unless it holds that already (and was written less than a day ago).

    Awaited: what the page does next (a navigation) reaches the browser after the cookie is set. A browser
    that does not confirm within 5 s is not waited for any longer.
    """
    old = recall()
    if memory == old and time.time() - old.written < REFRESH_SECONDS:
        return
    value = _the_signer().dumps(memory)
    app.storage.client[_KEY] = replace(memory, written=time.time())
    attributes = f'; Path=/; Max-Age={MAX_AGE_SECONDS}; SameSite=Lax'
    with contextlib.suppress(TimeoutError):
        await ui.run_javascript(  # the value is URL-safe base64 and dots: nothing to escape
            f'document.cookie = {json.dumps(COOKIE + "=" + value + attributes)}'
            ' + (location.protocol === "https:" ? "; Secure" : "")', timeout=5)


def remember_soon(memory: Memory) -> None:
    """``remember`` without waiting for it: from a page being built (written once the page is connected),
    or where nothing that follows needs the cookie."""
    background_tasks.create(remember(memory), name='remember', context=context.client)
