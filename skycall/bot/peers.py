"""One aiortc RTCPeerConnection per remote participant, negotiated as docs/protocol.md says.

aiortc gathers every candidate before ``setLocalDescription`` returns and puts them in its SDP, so
this side never trickles; the browser's trickled candidates are converted and added as they come.
aiortc cannot roll back, which SkyCall never asks of anyone: only the newcomer of a pair offers.
The other side's candidates, trickled or in its SDP, are tried only where candidates.py allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from ..protocol import MAX_CANDIDATE, MAX_SDP
from .candidates import may_probe, without_refused_candidates
from .media import MediaSource
from .signaling import Peer, Signal

log = logging.getLogger(__name__)

# aiortc's own waits (ICE gathering, a slow STUN server) are bounded here, so a session never hangs.
STEP_TIMEOUT = 15.0
MAX_MEDIA_SECTIONS = 4  # SkyCall sends audio and video; room to spare, not to make aiortc open hundreds of ports
_SDP_TEXT = re.compile(r'^v=0\r?\n[\x20-\x7e\r\n\t]*$')
_MEDIA_LINE = re.compile(r'^m=(\S+) ', re.MULTILINE)
KINDS = ('audio', 'video')


class MalformedSignal(Exception):
    """A description or candidate this peer cannot accept; it ends that one peer connection."""


class PeerLink:
    """Media with one remote participant. Signals are applied in arrival order by the link's own task."""

    def __init__(self, peer: Peer, *, offerer: bool, ice_servers: list[str], media: MediaSource,
                 send: Callable[[dict[str, Any]], Awaitable[None]],
                 on_track: Callable[[PeerLink, MediaStreamTrack], None],
                 on_event: Callable[[PeerLink, str, str], None], allow_private: bool = False) -> None:
        self.peer = peer
        self.allow_private = allow_private  # also try the other side's LAN and loopback addresses
        self.offerer = offerer
        self.media = media
        self._send = send
        self._on_event = on_event
        self.wants_offer = False
        # Only SkyCall's own ICE servers, never aiortc's default public STUN server.
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
        self.pc = RTCPeerConnection(configuration=config)
        self.pc.on('track', lambda track: on_track(self, track))
        self.pc.on('connectionstatechange', lambda: on_event(self, 'state', self.pc.connectionState))
        self._inbox: asyncio.Queue[Signal] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f'peer-{peer.id}')

    def handle(self, signal: Signal) -> None:
        self._inbox.put_nowait(signal)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.pc.close()

    async def round_trip_time(self) -> float | None:
        """Seconds from our RTCP sender reports to the peer's receiver reports, once it has sent some."""
        stats = await self.pc.getStats()
        times = [s.roundTripTime for s in stats.values()
                 if getattr(s, 'type', '') == 'remote-inbound-rtp' and getattr(s, 'roundTripTime', None)]
        return min(times) if times else None

    async def _run(self) -> None:
        try:
            if self.offerer:
                self._attach()
                await self._offer()
            while True:
                await self._apply(await self._inbox.get())
        except asyncio.CancelledError:
            raise
        except MalformedSignal as error:
            self._on_event(self, 'failed', f'{self.peer.name or "The other side"} sent a malformed signal: {error}')
        except Exception as error:  # noqa: BLE001 (whatever aiortc raised, only this link ends)
            # The type only: aiortc's messages can quote SDP, which holds the peers' IP addresses, and a
            # server's log must not keep where people are.
            log.warning('peer connection with %s failed: %s', self.peer.id, type(error).__name__)
            self._on_event(self, 'failed', f'the connection with {self.peer.name or "the other side"} failed '
                                           f'({type(error).__name__}: {str(error)[:200]})')

    async def _apply(self, signal: Signal) -> None:
        if signal.renegotiate:
            if self.offerer:
                await self._offer()
            return
        if signal.description is not None:
            description = check_description(signal.description, expected='answer' if self.offerer else 'offer',
                                            allow_private=self.allow_private)
            await _bounded(self.pc.setRemoteDescription(description))
            if description.type == 'offer':
                # Tracks added now reuse the offer's transceivers, so the first answer already sends.
                self._attach()
                await _bounded(self.pc.setLocalDescription(await self.pc.createAnswer()))
                await self._send({'description': _description(self.pc)})
                self._on_event(self, 'negotiated', '')
            else:
                self._on_event(self, 'negotiated', '')
                # What we send may depend on what we now receive (the echo): offer again if so.
                if self._attach() or self.wants_offer:
                    await self._offer()
            return
        candidate = check_candidate(signal.candidate, allow_private=self.allow_private)
        if candidate is not None:
            await _bounded(self.pc.addIceCandidate(candidate))

    async def _offer(self) -> None:
        if self.pc.signalingState != 'stable':
            self.wants_offer = True  # sent once the current exchange is complete
            return
        self.wants_offer = False
        await _bounded(self.pc.setLocalDescription(await self.pc.createOffer()))
        await self._send({'description': _description(self.pc)})

    def _attach(self) -> bool:
        """Give every transceiver that sends nothing yet a track from the media source. True if any was added."""
        added = False
        transceivers = {t.kind: t for t in self.pc.getTransceivers() if t.sender.track is None}
        for kind in KINDS:
            has_transceiver = any(t.kind == kind for t in self.pc.getTransceivers())
            if has_transceiver and kind not in transceivers:
                continue  # already sending this kind
            if not self.offerer and not has_transceiver:
                continue  # an answer cannot add media the offer did not have
            received = transceivers[kind].receiver.track if kind in transceivers else None
            track = self.media.track_for(kind, received)
            if track is not None:
                self.pc.addTrack(track)
                added = True
            elif self.offerer and not has_transceiver:
                self.pc.addTransceiver(kind, direction='recvonly')  # still ask to receive what we cannot send
        return added


def check_description(data: Any, expected: str, allow_private: bool = False) -> RTCSessionDescription:
    """The session description in a signal, if it is one SkyCall could have sent; else MalformedSignal.

    Its candidates that may not be tried (see candidates.py) are left out.
    """
    if not isinstance(data, dict) or data.get('type') != expected:
        raise MalformedSignal(f'expected an {expected}')
    sdp = data.get('sdp')
    if not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP or not _SDP_TEXT.match(sdp):
        raise MalformedSignal('the SDP is empty, too long or not SDP text')
    kinds = _MEDIA_LINE.findall(sdp)
    if not kinds or len(kinds) > MAX_MEDIA_SECTIONS or any(kind not in KINDS for kind in kinds):
        raise MalformedSignal('the SDP must describe audio and video only')
    return RTCSessionDescription(sdp=without_refused_candidates(sdp, allow_private), type=expected)


def check_candidate(data: Any, allow_private: bool = False) -> RTCIceCandidate | None:
    """An aiortc candidate from a browser's trickled one, None for one to skip; MalformedSignal if unusable.

    Skipped: what aiortc cannot use, mDNS names, and addresses candidates.py does not allow.
    """
    if data is None:
        return None  # end of candidates: aiortc needs nothing
    if not isinstance(data, dict) or not isinstance(data.get('candidate'), str):
        raise MalformedSignal('a candidate must be an object with a "candidate" string')
    text = data['candidate']
    if not text:
        return None
    mid, index = data.get('sdpMid'), data.get('sdpMLineIndex')
    if len(text) > MAX_CANDIDATE or not text.startswith('candidate:') or \
            not (isinstance(mid, str) or (isinstance(index, int) and not isinstance(index, bool))):
        raise MalformedSignal('not an ICE candidate')
    try:
        candidate = candidate_from_sdp(text.removeprefix('candidate:'))
        if not candidate.ip.endswith('.local'):
            ipaddress.ip_address(candidate.ip)
    except (AssertionError, ValueError, IndexError):
        raise MalformedSignal('not an ICE candidate (it does not parse, or names no address)') from None
    if candidate.protocol.lower() != 'udp' or candidate.component != 1:
        return None  # aiortc speaks ICE over UDP with RTP and RTCP multiplexed: nothing to do with this one
    if not may_probe(candidate.ip, allow_private):
        return None
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    return candidate


async def _bounded(step: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(step, STEP_TIMEOUT)
    except TimeoutError:
        raise TimeoutError(f'a negotiation step took more than {STEP_TIMEOUT:.0f} s') from None


def _description(pc: RTCPeerConnection) -> dict[str, str]:
    local = pc.localDescription
    return {'type': local.type, 'sdp': local.sdp}
