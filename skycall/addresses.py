"""The key a client's address is counted under by per-address limits."""

from __future__ import annotations

import ipaddress

# One IPv6 subscriber usually holds a whole /64 and can pick any address in it at will: counted per
# address, one person could take as many turns as there are addresses. A /64 is one key.
IPV6_PREFIX = 64


def client_key(address: str) -> str:
    """``address`` as a limit key: IPv4 as is, IPv6 as its /64 network (``2001:db8:1:2::/64``).

    An IPv4 address inside IPv6 (``::ffff:192.0.2.1``) counts as that IPv4 address; anything that is
    not an address (a Unix socket, ``?``) is returned unchanged.
    """
    try:
        ip = ipaddress.ip_address(address.strip().strip('[]'))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
