"""The signaling protocol of docs/protocol.md, written once: every message in both directions as a model.

inbound.py holds what clients send (parsed and validated before anything else happens) and the limits;
outbound.py holds what the server sends (events and acknowledgements).
"""

from .inbound import (
    INBOUND,
    MAX_CANDIDATE,
    MAX_CHAT,
    MAX_FRAME,
    MAX_ID,
    MAX_NAME,
    MAX_SDP,
    Candidate,
    Chat,
    Join,
    KnockReply,
    Leave,
    MediaState,
    Message,
    NewTicket,
    SessionDescription,
    Signal,
    SignalPayload,
    is_room_id,
    name_problem,
    new_peer_id,
    new_room_id,
    parse,
)
from .outbound import (
    ACKS,
    OUTBOUND,
    Admitted,
    ChatMessage,
    ChatSent,
    Declined,
    ErrorReply,
    Event,
    JoinReply,
    Knock,
    KnockEnded,
    Ok,
    Outbound,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerState,
    RelayedSignal,
)

__all__ = [
    'ACKS', 'INBOUND', 'MAX_CANDIDATE', 'MAX_CHAT', 'MAX_FRAME', 'MAX_ID', 'MAX_NAME', 'MAX_SDP', 'OUTBOUND',
    'Admitted', 'Candidate', 'Chat', 'ChatMessage', 'ChatSent', 'Declined', 'ErrorReply', 'Event', 'Join',
    'JoinReply', 'Knock', 'KnockEnded', 'KnockReply', 'Leave', 'MediaState', 'Message', 'NewTicket', 'Ok',
    'Outbound', 'Peer', 'PeerJoined', 'PeerLeft', 'PeerState', 'RelayedSignal', 'SessionDescription', 'Signal',
    'SignalPayload', 'is_room_id', 'name_problem', 'new_peer_id', 'new_room_id', 'parse',
]
