"""Which of the other side's ICE candidates a Python peer (the echo line, the bot) may send STUN to."""

from __future__ import annotations

import ipaddress

import pytest

from skycall.bot.candidates import is_public, may_probe, without_refused_candidates
from skycall.bot.peers import check_candidate, check_description

REFUSED = [
    '127.0.0.1', '127.8.9.10', '::1',                         # loopback: the server's own ports
    '10.1.2.3', '172.16.0.1', '192.168.1.1', 'fd00::2',       # private networks
    '169.254.169.254', '169.254.1.1', 'fe80::1',              # link-local, cloud metadata among them
    '100.64.0.1', '100.127.255.254',                          # carrier-grade NAT
    '224.0.0.1', '239.255.255.250', 'ff02::1',                # multicast
    '240.0.0.1', '255.255.255.255', '0.0.0.0', '::',          # reserved, broadcast, unspecified
    '192.0.2.2', '2001:db8::1',                               # documentation (this machine's own)
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '2002:7f00:1::1',  # IPv4 ones inside IPv6
    'fec0::1',                                                # IPv6 site-local
]
PUBLIC = ['8.8.8.8', '1.1.1.1', '100.128.0.1', '2a00:1450:4001:82a::200e', '2002:808:808::1']


@pytest.mark.parametrize('address', REFUSED)
def test_non_public_addresses_are_not_probed_unless_allowed(address):
    assert not is_public(ipaddress.ip_address(address))
    assert not may_probe(address, allow_private=False)
    assert may_probe(address, allow_private=True)


@pytest.mark.parametrize('address', PUBLIC)
def test_public_addresses_are_probed(address):
    assert is_public(ipaddress.ip_address(address))
    assert may_probe(address, allow_private=False)


@pytest.mark.parametrize('allow_private', [False, True])
def test_mdns_names_are_never_resolved(allow_private):
    assert not may_probe('3e9f0a6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f.local', allow_private)
    assert check_candidate({'candidate': 'candidate:1 1 udp 2122260223 3e9f0a6c-1a2b.local 50000 typ host',
                            'sdpMid': '0'}, allow_private) is None


def trickled(address: str) -> dict[str, object]:
    return {'candidate': f'candidate:1 1 udp 2122260223 {address} 50000 typ host', 'sdpMid': '0'}


def test_a_trickled_candidate_is_skipped_or_kept_by_its_address():
    assert check_candidate(trickled('127.0.0.1')) is None
    assert check_candidate(trickled('169.254.169.254')) is None
    kept = check_candidate(trickled('8.8.4.4'))
    assert kept is not None and (kept.ip, kept.port) == ('8.8.4.4', 50000)
    allowed = check_candidate(trickled('127.0.0.1'), allow_private=True)
    assert allowed is not None and allowed.ip == '127.0.0.1'


OFFER = ('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'
         'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n'
         'a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n'
         'a=candidate:2 1 udp 2130706431 192.168.1.20 5001 typ host\r\n'
         'a=candidate:3 1 udp 1694498815 8.8.4.4 5002 typ srflx raddr 192.168.1.20 rport 5001\r\n'
         'a=candidate:4 1 udp 2130706431 abc.local 5003 typ host\r\n'
         'a=candidate:5 1 udp 2130706431 169.254.169.254 80 typ host\r\n'
         'a=candidate:6 1 udp\r\n'
         'a=rtpmap:111 opus/48000/2\r\n')


def test_the_candidates_inside_a_remote_description_are_filtered_too():
    sdp = check_description({'type': 'offer', 'sdp': OFFER}, expected='offer').sdp
    assert [line for line in sdp.splitlines() if line.startswith('a=candidate:')] == [
        'a=candidate:3 1 udp 1694498815 8.8.4.4 5002 typ srflx raddr 192.168.1.20 rport 5001']  # public: kept
    assert sdp.replace('\r\n', '') == ''.join(line for line in OFFER.split('\r\n')
                                              if not line.startswith('a=candidate:') or '8.8.4.4' in line)


def test_with_private_networks_allowed_only_unusable_candidates_are_left_out():
    sdp = without_refused_candidates(OFFER, allow_private=True)
    assert [line.split()[4] for line in sdp.splitlines() if line.startswith('a=candidate:')] == [
        '127.0.0.1', '192.168.1.20', '8.8.4.4', '169.254.169.254']
