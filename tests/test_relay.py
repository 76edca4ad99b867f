"""The relay between workers: a message for one peer goes to the one worker that holds it, in order,
and a sender always learns when a message could not go out."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from skycall.errors import SkyCallError
from skycall.relay import RedisRelay
from skycall.testing.redis_process import RedisProcess
from tests.stores import REDIS_URL


@pytest.fixture
async def channel() -> AsyncIterator[str]:
    yield f'skycall-test:{secrets.token_hex(6)}:socketio'


async def listen(url: str, *channels: str) -> tuple[Any, asyncio.Queue[tuple[str, Any]], asyncio.Task[None]]:
    """A plain Redis subscriber standing in for other workers: (channel, message) as they come."""
    client = Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(*channels)
    heard: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def loop() -> None:
        async for message in pubsub.listen():
            heard.put_nowait((message['channel'].decode(), json.loads(message['data'])))

    return client, heard, asyncio.create_task(loop())


async def test_a_message_for_one_peer_goes_only_to_its_worker_in_order(channel: str) -> None:
    relay = RedisRelay(REDIS_URL, channel, worker_id='one')
    bob_worker = f'{channel}:worker:two'
    client, heard, listening = await listen(REDIS_URL, channel, bob_worker)
    try:
        # Sent all at once, as a busy worker does: they go out together, and arrive in order.
        await asyncio.gather(*(relay.emit_to('two', 'signal', {'n': n}, room='peer:r:bob') for n in range(200)))
        received = [await asyncio.wait_for(heard.get(), 5) for _ in range(200)]
        assert {name for name, _ in received} == {bob_worker}  # nothing on the channel every worker decodes
        assert [message['data'] for _, message in received] == [[{'n': n}] for n in range(200)]
        assert received[0][1]['room'] == 'peer:r:bob' and received[0][1]['event'] == 'signal'
    finally:
        listening.cancel()
        await client.aclose()
        await relay.close()


async def test_a_message_for_a_worker_nobody_listens_for_is_reported_not_lost(channel: str) -> None:
    relay = RedisRelay(REDIS_URL, channel, worker_id='one')
    try:
        with pytest.raises(SkyCallError) as caught:
            await relay.emit_to('dead-worker', 'signal', {'from': 'ada'}, room='peer:r:bob')
        assert caught.value.code == 'unavailable'
    finally:
        await relay.close()


async def test_while_redis_is_away_senders_hear_so_at_once_and_then_it_works_again(
        channel: str, private_redis: RedisProcess) -> None:
    relay = RedisRelay(private_redis.url, channel, worker_id='one')
    client, heard, listening = await listen(private_redis.url, f'{channel}:worker:two')
    try:
        await relay.emit_to('two', 'signal', {'n': 1}, room='peer:r:bob')
        assert (await asyncio.wait_for(heard.get(), 5))[1]['data'] == [{'n': 1}]
        listening.cancel()
        await client.aclose()

        private_redis.stop()
        started = time.monotonic()
        outcomes = await asyncio.gather(*(relay.emit_to('two', 'signal', {'n': n}, room='peer:r:bob')
                                          for n in range(20)), return_exceptions=True)
        assert all(isinstance(o, SkyCallError) and o.code == 'unavailable' for o in outcomes), outcomes
        assert time.monotonic() - started < 2

        private_redis.start()  # same port
        client, heard, listening = await listen(private_redis.url, f'{channel}:worker:two')
        await relay.emit_to('two', 'signal', {'n': 2}, room='peer:r:bob')
        assert (await asyncio.wait_for(heard.get(), 5))[1]['data'] == [{'n': 2}]
    finally:
        listening.cancel()
        await client.aclose()
        await relay.close()
