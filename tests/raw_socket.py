"""A raw engine.io websocket to SkyCall's signaling server: writes any frame, as an attacker would.

python-socketio's client only sends well-formed packets; the tests of abuse need the frames a
hostile client can write. It answers the server's pings (as the attacks in issue 11 did), so a
connection lasts until the server closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from skycall.testing.people import WAIT

PATH = '/signal/socket.io/?EIO=4&transport=websocket'


class ServerLog:
    """The lines a server process writes to its log (SkyCallProcess.log) from the moment this is made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size

    def new_lines(self) -> list[str]:
        with self.path.open() as file:
            file.seek(self.start)
            return file.read().splitlines()

    def lines_about(self, address: str) -> list[str]:
        return [line for line in self.new_lines() if address in line]

    def tracebacks(self) -> list[str]:
        return [line for line in self.new_lines() if 'Traceback' in line]


class Refused(Exception):
    """The server would not open an engine.io session (refused handshake, or no answer in time)."""


class RawSocket:
    """One engine.io session over a websocket, from a loopback address of its own choosing."""

    def __init__(self, connection: ClientConnection, sid: str) -> None:
        self.connection = connection
        self.sid = sid
        self.frames: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, address: str, within: float = WAIT) -> RawSocket:
        """Open a session with the server at ``url`` (http://host:port) from ``address``; :class:`Refused`
        when the server does not complete the engine.io handshake within ``within`` seconds."""
        uri = url.replace('http://', 'ws://', 1) + PATH
        try:
            async with asyncio.timeout(within):
                connection = await connect(uri, origin=url, proxy=None, compression=None,  # type: ignore[arg-type]
                                           ping_interval=None, max_size=None, local_addr=(address, 0))
                try:
                    first = await connection.recv()
                except BaseException:
                    await connection.close()
                    raise
        except (OSError, TimeoutError, ConnectionClosed) as error:
            raise Refused(repr(error)) from error
        except Exception as error:  # websockets' InvalidStatus and friends: a refused handshake
            raise Refused(repr(error)) from error
        assert isinstance(first, str) and first.startswith('0'), first
        return cls(connection, json.loads(first[1:])['sid'])

    async def send(self, frame: str | bytes) -> bool:
        """Send one websocket frame; False once the connection is closed."""
        try:
            await self.connection.send(frame)
        except ConnectionClosed:
            return False
        return True

    async def join_namespace(self) -> None:
        """Connect to the socket.io namespace '/', as every real client does first."""
        await self.send('40')
        assert (await self.next()).startswith('40{"sid"')  # type: ignore[union-attr]

    async def next(self) -> str | bytes:
        """The next frame from the server other than a ping."""
        return await asyncio.wait_for(self.frames.get(), WAIT)

    async def closed_within(self, seconds: float) -> bool:
        """True when the server closes this connection within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), seconds)
        return self.closed.is_set()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 2)

    async def _read(self) -> None:
        try:
            async for frame in self.connection:
                if frame == '2':
                    await self.connection.send('3')
                else:
                    self.frames.put_nowait(frame)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()


async def open_many(url: str, address: str, count: int, parallel: int = 10,
                    within: float = 2.0) -> tuple[list[RawSocket], int]:
    """Try ``count`` sessions from one address, ``parallel`` at a time; the sessions opened and the
    number refused."""
    opened: list[RawSocket] = []
    refused = 0
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        nonlocal refused
        async with gate:
            try:
                opened.append(await RawSocket.open(url, address, within))
            except Refused:
                refused += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return opened, refused

