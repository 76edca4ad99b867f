"""Whether the event being handled asked for an acknowledgement: an error goes either in the
acknowledgement or, when none was asked for, as the ``error`` event; never both (docs/protocol.md).

python-socketio hands a namespace the event and its data, not the packet's id, so the server notes it
for the task that handles the event (each inbound event runs in a task of its own).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import socketio

from ..transport import GuardedServer

_acknowledged: ContextVar[bool] = ContextVar('skycall_acknowledged', default=False)


def wants_acknowledgement() -> bool:
    """True while handling an event whose sender asked for an acknowledgement."""
    return _acknowledged.get()


class AckAwareServer(GuardedServer):
    """SkyCall's guarded socket.io server (transport.py), telling its handlers whether the event asked for an
    acknowledgement."""

    async def _handle_event_internal(self, server: socketio.AsyncServer, sid: str, eio_sid: str, data: Any,
                                     namespace: str, id: int | None) -> None:  # noqa: A002 (python-socketio's name)
        token = _acknowledged.set(id is not None)
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        finally:
            _acknowledged.reset(token)
