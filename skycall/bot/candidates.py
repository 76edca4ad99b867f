"""Which addresses of the other side a Python peer may send connectivity checks (STUN) to.

aiortc probes every candidate the other side lists, and on the echo line that other side can be
anyone who opens a page: unfiltered, an outsider could make the server send STUN to its own LAN, to
its loopback ports or to a cloud's metadata address (169.254.169.254). So, unless the operator allows
private networks (SKYCALL_ALLOW_PRIVATE_CANDIDATES, the bot's --allow-private-candidates), only
public unicast addresses are tried. mDNS names (``.local``) are never tried: aiortc would ask the
local network what they mean and then probe whatever it was told. A peer whose candidates are all
skipped can still be reached: its own checks arrive from its real address (a peer-reflexive
candidate), and aiortc answers those where they come from.
"""

from __future__ import annotations

import ipaddress

from aiortc.sdp import candidate_from_sdp

# Carrier-grade NAT space: neither private nor global to the ipaddress module, and never a peer's own.
SHARED_ADDRESS_SPACE = ipaddress.ip_network('100.64.0.0/10')
_CANDIDATE_LINE = 'a=candidate:'

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """True for a unicast address on the public internet: not loopback, private, link-local, multicast, …"""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour  # an IPv4 address in IPv6 clothes
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return not (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
                or address.is_reserved or address.is_unspecified or address in SHARED_ADDRESS_SPACE)


def may_probe(host: str, allow_private: bool) -> bool:
    """Whether a candidate naming ``host`` (an IP address, or an mDNS name) may be tried."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # an mDNS name or anything else that is not an address: never resolved
    return allow_private or is_public(address)


def without_refused_candidates(sdp: str, allow_private: bool) -> str:
    """``sdp`` without the ``a=candidate`` lines whose address may not be tried (or that do not parse)."""
    return ''.join(line for line in sdp.splitlines(keepends=True)
                   if not line.startswith(_CANDIDATE_LINE) or _line_allowed(line, allow_private))


def _line_allowed(line: str, allow_private: bool) -> bool:
    try:
        candidate = candidate_from_sdp(line[len(_CANDIDATE_LINE):].strip())
    except (AssertionError, ValueError, IndexError):
        return False  # not something aiortc could use either
    return may_probe(candidate.ip, allow_private)
