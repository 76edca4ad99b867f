"""The signaling server: one socket.io namespace that seats peers in rooms and relays between them.

namespace.py holds the namespace (one dispatch for every event, the handlers), knocks.py the knock
lifecycle, session.py the typed per-connection session and the rate limits, acks.py the server that tells
the namespace whether an event asked for an acknowledgement.
"""

from __future__ import annotations

import socketio

from ..protocol import MAX_FRAME
from ..relay import RedisRelay
from ..rooms import RoomStore
from ..tickets import TicketMint
from .acks import AckAwareServer
from .namespace import SignalingNamespace, peer_key, room_key
from .session import KNOCKS_PER_ADDRESS, MAX_CONNECTIONS_PER_ADDRESS

SOCKETIO_PATH = '/signal/socket.io'

__all__ = ['MAX_CONNECTIONS_PER_ADDRESS', 'SOCKETIO_PATH', 'SignalingNamespace', 'create_server', 'peer_key',
           'room_key']


def create_server(store: RoomStore, mint: TicketMint, max_participants: int,
                  relay: RedisRelay | None = None, *,
                  ring_timeout_seconds: float = 30.0,
                  knocks_per_address: int = KNOCKS_PER_ADDRESS) -> tuple[socketio.AsyncServer, SignalingNamespace]:
    """A socket.io server that only accepts same-origin websocket connections and small frames.

    ``relay`` carries events to the other workers (RedisRelay); None serves one process. A knock nobody
    answers ends after ``ring_timeout_seconds``; one address knocks on a room at most ``knocks_per_address``
    times in 10 minutes.
    """
    server = AckAwareServer(  # refuses binary and malformed frames, caps sockets per address (transport.py)
        max_connections_per_address=MAX_CONNECTIONS_PER_ADDRESS,
        async_mode='asgi',
        client_manager=relay,
        cors_allowed_origins=None,  # same origin only: python-socketio's default, never '*'
        transports=['websocket'],
        max_http_buffer_size=MAX_FRAME,
        ping_interval=3,  # a vanished browser is noticed within ping_interval + ping_timeout (7 s)
        ping_timeout=4,
    )
    namespace = SignalingNamespace(store, mint, max_participants, relay, ring_timeout_seconds, knocks_per_address)
    server.register_namespace(namespace)
    return server, namespace
