"""The Python participant (skycall-bot) against a real SkyCall server: bots call each other and chat,
a peer that sends malformed SDP or candidates ends only its own session, and nobody can make a bot
probe private addresses.

This machine's only addresses are loopback and private ones (TEST-NET, a ULA), so every bot here
that must reach another one is started with allow_private_candidates; the tests of the refusal are
not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import aioice.ice
import av
import pytest
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection

from skycall.bot import cli as bot_cli
from skycall.bot.client import Bot, Outcome
from skycall.bot.pattern import SyntheticMedia
from skycall.signaling import SOCKETIO_PATH
from skycall.testing.net import new_address

WAIT = 20.0
# A session description aiortc parses but refuses (no ICE credentials, no DTLS fingerprint).
NO_CREDENTIALS = ('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'
                  'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n')
MANY_SECTIONS = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' + 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' * 200


@pytest.fixture(scope='module', autouse=True)
def host_address() -> None:
    if not aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True):
        pytest.fail('aiortc ignores 127.0.0.1 and this machine has no other address: give lo a second one '
                    '(ip addr add 127.0.0.2/32 dev lo), see ENVIRONMENT.md')


class Call:
    """Bots running in this test's event loop; every one is stopped (and its run awaited) at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tasks: dict[Bot, asyncio.Task[Outcome]] = {}

    async def join(self, room: str, name: str, **options: Any) -> Bot:
        # Each bot from its own loopback address, as people are: the server limits joins per address.
        options.setdefault('allow_private_candidates', True)  # this machine has no public address
        bot = Bot(self.url, room, name, SyntheticMedia(), local_address=new_address(), **options)
        self.tasks[bot] = asyncio.create_task(bot.run())
        done = asyncio.create_task(bot.joined.wait())
        await asyncio.wait([done, self.tasks[bot]], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
        assert bot.joined.is_set(), f'{name} did not get in: {await self.tasks[bot] if self.tasks[bot].done() else ""}'
        return bot

    async def outcome(self, bot: Bot) -> Outcome:
        return await asyncio.wait_for(self.tasks[bot], WAIT)

    async def stop(self) -> None:
        for bot, task in self.tasks.items():
            if not task.done():
                bot.stop()
        await asyncio.wait_for(asyncio.gather(*self.tasks.values(), return_exceptions=True), WAIT)


@pytest.fixture
async def call(server) -> AsyncIterator[Call]:
    c = Call(server.url)
    yield c
    await c.stop()


@pytest.fixture(scope='module')
async def other_call(server) -> AsyncIterator[Bot]:
    """A call between two bots that goes on while other sessions fail; yields one of them."""
    c = Call(server.url)
    room = await server.create_room()
    ada = await c.join(room, 'Ada', admit=lambda peer: True)
    await c.join(room, 'Grace')
    await ada.wait_for(receiving(ada), WAIT)
    yield ada
    await c.stop()


def receiving(bot: Bot, at_least: int = 5) -> Callable[[], bool]:
    return lambda: bot.received.count('video') >= at_least and bot.received.count('audio') >= at_least


async def test_two_bots_see_and_hear_each_other_chat_and_hang_up(server, call, tmp_path):
    room = await server.create_room()
    ada = await call.join(room, 'Ada', admit=lambda peer: True, say=['Hello from Ada'])
    recording = tmp_path / 'ada.mkv'
    grace = await call.join(room, 'Grace', say=['Hi Ada'], record=str(recording))  # knocks; Ada lets her in

    await ada.wait_for(receiving(ada), WAIT)
    await grace.wait_for(receiving(grace), WAIT)
    await ada.wait_for(lambda: any(m.text == 'Hi Ada' for m in ada.received.chat), WAIT)
    await grace.wait_for(lambda: any(m.text == 'Hello from Ada' for m in grace.received.chat), WAIT)
    assert [m.name for m in grace.received.chat if m.text == 'Hello from Ada'] == ['Ada']
    assert [m.name for m in ada.received.chat if m.text == 'Hi Ada'] == ['Grace']

    grace.stop()
    assert (await call.outcome(grace)).kind == 'stopped'
    hung_up = await call.outcome(ada)
    assert (hung_up.ok, hung_up.kind, hung_up.message) == (True, 'hung-up', 'Grace hung up.')
    assert not ada.links and not grace.links  # every peer connection closed
    with av.open(str(recording)) as container:  # Grace recorded Ada's picture and sound
        assert {packet.stream.type for packet in container.demux() if packet.size} == {'audio', 'video'}


VALID_OFFER = 'a valid offer'
BAD_CANDIDATES = {
    'short-candidate': ({'candidate': 'candidate:x 1 udp', 'sdpMid': '0'}, 'not an ICE candidate'),
    'bad-address': ({'candidate': 'candidate:1 1 udp 1 999.1.1.1 9 typ host', 'sdpMid': '0'}, 'not an ICE candidate'),
    'no-mid': ({'candidate': 'candidate:1 1 udp 1 192.0.2.1 9 typ host'}, 'not an ICE candidate'),
}


@pytest.mark.parametrize('signals, reason', [
    ([{'description': {'type': 'offer', 'sdp': 'not sdp at all'}}], 'not SDP text'),
    ([{'description': {'type': 'offer', 'sdp': NO_CREDENTIALS}}], 'ValueError'),  # aiortc's own refusal
    ([{'description': {'type': 'offer', 'sdp': MANY_SECTIONS}}], 'audio and video only'),
    ([VALID_OFFER, {'description': {'type': 'answer', 'sdp': NO_CREDENTIALS}}], 'expected an offer'),
    *(([VALID_OFFER, {'candidate': candidate}], reason) for candidate, reason in BAD_CANDIDATES.values()),
], ids=['garbage', 'no-credentials', 'many-sections', 'unexpected-answer', *BAD_CANDIDATES])
async def test_a_malformed_signal_ends_only_that_session(server, call, other_call, signals, reason):
    room = await server.create_room()
    victim = await call.join(room, 'Echo', admit=lambda peer: True)

    async with intruder(server, room) as (mallory, victim_id):
        for signal in signals:
            payload = {'description': await valid_offer()} if signal == VALID_OFFER else signal
            await mallory.emit('signal', {'to': victim_id, **payload})
        outcome = await call.outcome(victim)

    assert (outcome.ok, outcome.kind) == (False, 'call-failed')
    assert reason in outcome.message
    assert not victim.links
    # The server and the other call go on.
    before = other_call.received.count('video')
    await other_call.wait_for(lambda: other_call.received.count('video') > before + 5, WAIT)
    assert other_call.links
    assert server.process.poll() is None
    async with server.http() as client:
        assert (await client.get('/healthz')).status_code == 200


async def test_a_peer_that_never_connects_ends_the_call_with_a_timeout(server, call):
    room = await server.create_room()
    bot = await call.join(room, 'Echo', admit=lambda peer: True, connect_timeout=1.0)
    async with intruder(server, room) as (ghost, bot_id):
        await ghost.emit('signal', {'to': bot_id, 'description': await valid_offer()})  # and then nothing
        outcome = await call.outcome(bot)
    assert (outcome.ok, outcome.kind) == (False, 'call-failed')
    assert 'not connected after 1 s' in outcome.message


async def test_a_bot_leaves_after_its_duration_when_nobody_comes(server, call):
    bot = await call.join(await server.create_room(), 'Lonely', duration=0.5)
    outcome = await call.outcome(bot)
    assert (outcome.ok, outcome.kind) == (True, 'duration')


@pytest.mark.parametrize('allowed', [False, True], ids=['refused', 'allowed'])
async def test_a_bot_probes_the_private_addresses_another_lists_only_when_allowed(server, call, allowed):
    room = await server.create_room()
    bot = await call.join(room, 'Echo', admit=lambda peer: True, connect_timeout=2.0,
                          allow_private_candidates=allowed)
    async with listener() as in_sdp, listener() as trickled, intruder(server, room) as (mallory, bot_id):
        offer = await valid_offer()
        # The server's own loopback ports, one listed in the offer's SDP, the other trickled after it.
        offer['sdp'] = offer['sdp'].replace('a=end-of-candidates\r\n', f'a={host_candidate(in_sdp.port)}\r\n')
        await mallory.emit('signal', {'to': bot_id, 'description': offer})
        await mallory.emit('signal', {'to': bot_id, 'candidate': {'candidate': host_candidate(trickled.port),
                                                                  'sdpMid': '0'}})
        if allowed:  # the control: these listeners do hear a bot that may probe them
            await asyncio.wait_for(asyncio.gather(in_sdp.heard.wait(), trickled.heard.wait()), WAIT)
        outcome = await call.outcome(bot)  # the link gives up after its 2 s connect timeout

    assert (outcome.ok, outcome.kind) == (False, 'call-failed')
    if not allowed:
        assert (len(in_sdp.datagrams), len(trickled.datagrams)) == (0, 0)  # not one STUN check


def host_candidate(port: int) -> str:
    return f'candidate:9 1 udp 2130706431 127.0.0.1 {port} typ host'


class Listener(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that keeps what it receives (STUN checks, here)."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self.heard = asyncio.Event()
        self.port = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)
        self.heard.set()


@contextlib.asynccontextmanager
async def listener() -> AsyncIterator[Listener]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Listener, local_addr=('127.0.0.1', 0))
    protocol.port = transport.get_extra_info('sockname')[1]
    try:
        yield protocol
    finally:
        transport.close()


@contextlib.asynccontextmanager
async def intruder(server, room: str) -> AsyncIterator[tuple[socketio.AsyncClient, str]]:
    """A raw socket.io client let into ``room``; yields it and the id of the one peer already there."""
    ticket = await server.ticket(room, 'Mallory')
    address = new_address()
    client = socketio.AsyncClient(reconnection=False, http_session=lambda: aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(address, 0))))
    admitted = asyncio.Event()
    client.on('admitted', lambda data: admitted.set())
    await client.connect(server.url, socketio_path=SOCKETIO_PATH, transports=['websocket'])
    try:
        reply = await client.call('join', {'ticket': ticket['ticket']}, timeout=WAIT)
        if reply.get('waiting'):
            await asyncio.wait_for(admitted.wait(), WAIT)
            reply = await client.call('join', {'ticket': ticket['ticket']}, timeout=WAIT)
        assert reply['ok'] and not reply['waiting'], reply
        yield client, reply['peers'][0]['id']
    finally:
        await client.disconnect()


async def valid_offer() -> dict[str, str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver('audio')  # audio only: the answer must not add the video the offer lacks
        await pc.setLocalDescription(await pc.createOffer())
        return {'type': 'offer', 'sdp': pc.localDescription.sdp}
    finally:
        await pc.close()


def test_the_command_says_when_the_room_does_not_exist(server, capsys):
    status = bot_cli.main([f'{server.url}/dial/AAAAAAAAAAAAAAAAAAAAAA', '--name', 'Robot'])
    assert status == 4
    assert 'This call does not exist or has ended.' in capsys.readouterr().err


def test_the_command_says_when_the_server_is_unreachable(capsys):
    status = bot_cli.main(['http://127.0.0.1:9/dial/AAAAAAAAAAAAAAAAAAAAAA'])
    assert status == 3
    assert 'Cannot reach SkyCall at http://127.0.0.1:9' in capsys.readouterr().err
