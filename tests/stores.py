"""What the store tests share: stores to test (memory, Redis), people, and Redis servers and worker
processes of a test's own.

The Redis store runs against a real Redis: 127.0.0.1:6379 (``make redis`` starts one), or the server
named by SKYCALL_TEST_REDIS_URL. Without one these tests fail; they never skip. Tests that stop,
pause or restart Redis use a redis-server of their own on a free port, never the shared one on 6379.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from skycall.redis_store import RedisRoomStore
from skycall.rooms import Joined, Member, MemoryRoomStore, RoomStore
from skycall.testing.processes import ROOT

REDIS_URL = os.environ.get('SKYCALL_TEST_REDIS_URL', 'redis://127.0.0.1:6379/0')


@asynccontextmanager
async def memory_store(ttl: float, **options: Any) -> AsyncIterator[RoomStore]:
    store = MemoryRoomStore(room_ttl_seconds=ttl, **options)
    yield store
    await store.close()


@asynccontextmanager
async def redis_store(ttl: float = 3600, *, url: str = REDIS_URL, prefix: str | None = None,
                      **options: Any) -> AsyncIterator[RedisRoomStore]:
    """A started RedisRoomStore (one worker). Without a ``prefix`` it gets a fresh one, so that tests never
    see each other's keys, and its keys are deleted afterwards; with one, that is the caller's job."""
    own_prefix = prefix is None
    prefix = prefix or f'skycall-test:{secrets.token_hex(6)}:'
    store = RedisRoomStore.from_url(url, prefix=prefix, room_ttl_seconds=ttl, **options)
    try:
        if not await store.ping():
            pytest.fail(f'No Redis answers at {url}: run `make redis` (or point SKYCALL_TEST_REDIS_URL at one).',
                        pytrace=False)
        await store.start()
        yield store
    finally:
        await store.close()
        if own_prefix:
            await delete_keys(url, prefix)


async def delete_keys(url: str, prefix: str) -> None:
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    with contextlib.suppress(RedisError):  # a server the test stopped keeps nothing anyway
        async for key in client.scan_iter(match=f'{prefix}*', count=1000):
            await client.delete(key)
    await client.aclose()


ADA = Member('ada-peer', 'Ada', conn='conn-ada')
BOB = Member('bob-peer', 'Bob', conn='conn-bob')
CLEO = Member('cleo-peer', 'Cleo', conn='conn-cleo')


async def seat(store: RoomStore, room: str, member: Member, max_participants: int = 2) -> Joined:
    """Seat ``member``, letting them in first if they knock (as a member answering would)."""
    joined = await store.join(room, member, max_participants)
    if not joined.seated:
        assert await store.admit(room, member.id) == member
        joined = await store.join(room, member, max_participants)
    assert joined.seated
    return joined


def by_id(members: list[Member]) -> list[Member]:
    return sorted(members, key=lambda m: m.id)


@contextlib.asynccontextmanager
async def workers(count: int, *, url: str = REDIS_URL, **options: Any) -> AsyncIterator[list[RedisRoomStore]]:
    """``count`` stores sharing one fresh prefix: the room state of that many worker processes."""
    prefix = f'skycall-test:{secrets.token_hex(6)}:'
    try:
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(redis_store(url=url, prefix=prefix, **options))
                   for _ in range(count)]
    finally:
        await delete_keys(url, prefix)


async def until(condition: Callable[[], Awaitable[bool]], within: float = 5) -> None:
    """Poll ``condition`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, 'the condition did not hold in time'
        await asyncio.sleep(0.02)


# A worker in a process of its own, to be killed: it seats the given peer ids and says "ready".
DOOMED_WORKER = '''
import asyncio, sys
from skycall.redis_store import RedisRoomStore
from skycall.rooms import Member

async def main(url, prefix, ttl, room, *peers):
    store = RedisRoomStore.from_url(url, prefix=prefix, room_ttl_seconds=float(ttl), heartbeat_seconds=1)
    await store.start()
    for peer in peers:
        member = Member(peer, peer.title(), conn='conn-' + peer)
        if not (await store.join(room, member, 4)).seated:
            await store.admit(room, peer)
            assert (await store.join(room, member, 4)).seated
    print('ready', flush=True)
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:]))
'''


@contextlib.asynccontextmanager
async def doomed_worker(prefix: str, room: str, *peers: str, ttl: float = 3600,
                        url: str = REDIS_URL) -> AsyncIterator[asyncio.subprocess.Process]:
    """A worker process (heartbeat 1 s) that has seated ``peers`` in ``room``; kill it to make it die."""
    env = {key: value for key, value in os.environ.items() if key != 'PYTEST_CURRENT_TEST'}
    process = await asyncio.create_subprocess_exec(
        sys.executable, '-c', DOOMED_WORKER, url, prefix, str(ttl), room, *peers,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 20) == b'ready\n'
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def always(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    """Run ``check`` (which asserts) over and over for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await check()
        await asyncio.sleep(0.02)
