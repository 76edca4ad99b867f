"""Ports and loopback addresses for servers and clients on one machine."""

from __future__ import annotations

import itertools
import socket

_hosts = itertools.count(1)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def new_address() -> str:
    """A loopback address (127.1.x.y) that nothing else in this process has been given.

    The server limits rooms, joins and connections per client address, as it should; people on
    different machines have different addresses, and so does each person in the tests.
    """
    n = next(_hosts)
    return f'127.1.{n // 200}.{n % 200 + 1}'


def loopback_addresses(count: int, first: int = 2) -> list[str]:
    """``count`` distinct loopback addresses, 127.0.0.<first> upwards (at most up to .254): for load
    that must come from known, separate addresses."""
    if first + count - 1 > 254:
        raise ValueError(f'only 253 loopback addresses of the form 127.0.0.x: asked for {count} from .{first}')
    return [f'127.0.0.{n}' for n in range(first, first + count)]
