"""Several SkyCall workers sharing one Redis behind HAProxy: calls across workers, and the faults
they must survive (Redis going away and coming back, a worker dying). Real processes throughout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skycall.testing.cluster import Cluster, ready_cluster
from skycall.testing.people import Participant, People
from skycall.testing.processes import SkyCallProcess
from skycall.testing.redis_process import RedisProcess

SECRET = 'skycall-cluster-tests-secret-0123456789'
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess().start()
    yield server
    server.remove()


@pytest.fixture(scope='module')
def server(redis_server: RedisProcess) -> Iterator[Cluster]:
    with ready_cluster(2, SECRET, ROOT / '.pytest_cache' / 'cluster', redis=redis_server) as cluster:
        yield cluster


async def call_across_workers(server: Cluster, people: People) -> tuple[Participant, Participant]:
    """Ada on the first worker, Bob on the second, in one room: Bob knocks and Ada lets him in."""
    room = await server.create_room()
    ada = await people.join(room, 'Ada', url=server.workers[0].url)
    bob = await people.join(room, 'Bob', let_in_by=ada, url=server.workers[1].url)
    assert await ada.expect('peer-joined') == {'id': bob.id, 'name': 'Bob'}
    return ada, bob


async def test_two_people_on_different_workers_signal_and_chat(server: Cluster, people: People) -> None:
    ada, bob = await call_across_workers(server, people)

    offer = {'type': 'offer', 'sdp': 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'}
    assert await bob.call('signal', {'to': ada.id, 'description': offer}) == {'ok': True}
    assert await ada.expect('signal') == {'from': bob.id, 'description': offer}
    assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'renegotiate': True}

    await ada.say('hello from worker one')
    await bob.say('hello from worker two')
    for person in (ada, bob):
        texts = [(await person.expect('chat'))['text'] for _ in range(2)]
        assert texts == ['hello from worker one', 'hello from worker two']


async def test_a_signal_to_someone_in_another_room_on_another_worker_is_refused(
        server: Cluster, people: People) -> None:
    ada, bob = await call_across_workers(server, people)
    room = await server.create_room()
    cleo = await people.join(room, 'Cleo', url=server.workers[1].url)  # on Bob's worker, in another room

    offer = {'type': 'offer', 'sdp': 'v=0\r\n'}
    await ada.fails('signal', {'to': cleo.id, 'description': offer}, 'no-such-peer')
    assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'renegotiate': True}
    await cleo.catch_up()  # had Cleo been sent anything, it would have come before her own chat
    assert [event for event, _ in cleo.received] == ['chat']


async def test_a_signal_follows_a_person_who_reloads_onto_the_other_worker(
        server: Cluster, people: People) -> None:
    ada, bob = await call_across_workers(server, people)
    assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
    assert await bob.expect('signal') == {'from': ada.id, 'renegotiate': True}

    # Bob reloads the page, and this time the load balancer sends him to Ada's worker.
    bob_again = await people.connect('Bob', url=server.workers[0].url)
    await bob_again.enter({'ticket': bob.ticket, 'peer': bob.id})
    assert (await ada.expect('peer-left'))['reason'] == 'replaced'
    assert await ada.expect('peer-joined') == {'id': bob.id, 'name': 'Bob'}
    assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
    assert await bob_again.expect('signal') == {'from': ada.id, 'renegotiate': True}
    assert await bob_again.call('signal', {'to': ada.id, 'renegotiate': True}) == {'ok': True}
    assert await ada.expect('signal') == {'from': bob.id, 'renegotiate': True}


async def test_two_people_through_the_load_balancer(server: Cluster, people: People) -> None:
    room = await server.create_room()
    ada = await people.join(room, 'Ada')
    bob = await people.join(room, 'Bob', let_in_by=ada)
    await bob.say('via HAProxy')
    assert (await ada.expect('peer-joined'))['name'] == 'Bob'
    assert (await ada.expect('chat'))['text'] == 'via HAProxy'


async def test_a_redis_outage_is_reported_and_healed_within_two_seconds(
        server: Cluster, people: People, redis_server: RedisProcess, tmp_path: Path) -> None:
    ada, bob = await call_across_workers(server, people)

    redis_server.stop()
    for worker in server.workers:
        await until_status(worker.url + '/readyz', 503)
        await until_status(worker.url + '/healthz', 200)
    # Said during the outage: the sender is told it did not go out.
    reply = await ada.call('chat', {'text': 'anyone there?'})
    assert reply['ok'] is False and reply['code'] == 'unavailable', reply
    # A worker that starts while Redis is down starts, and says it is not ready.
    late = SkyCallProcess(log_dir=tmp_path, **server.settings)
    late.start(wait=False)
    try:
        late.wait_until('/healthz')
        await until_status(late.url + '/readyz', 503)
        await asyncio.sleep(10 - 2)  # the outage lasts 10 s in all (the scenario), not a condition

        redis_server.start()
        back = time.monotonic()
        delivered = await chat_gets_through(ada, bob)
        assert delivered - back <= 2.0, f'relay came back after {delivered - back:.2f} s'
        # A signal goes to the channel of Bob's worker only: that one is heard again too.
        assert await ada.call('signal', {'to': bob.id, 'renegotiate': True}) == {'ok': True}
        while (received := await bob.next())[0] != 'signal':
            pass
        assert received == ('signal', {'from': ada.id, 'renegotiate': True})
        assert time.monotonic() - back <= 2.0
        for worker in [*server.workers, late]:
            await until_status(worker.url + '/readyz', 200)
    finally:
        late.stop()


async def test_the_members_of_a_dead_worker_leave_no_ghost(server: Cluster, people: People) -> None:
    ada, bob = await call_across_workers(server, people)

    server.workers[1].kill()  # Bob's worker dies without a word to anyone
    try:
        # Until Bob is found gone, what Ada sends him is not silently lost: nobody listens on his worker.
        await ada.fails('signal', {'to': bob.id, 'renegotiate': True}, 'unavailable')
        # Noticed when the dead worker's heartbeat (10 s) has lapsed and a sweep (every 3 s) ran.
        event, left = await asyncio.wait_for(ada.inbox.get(), timeout=20)
        assert (event, left) == ('peer-left', {'id': bob.id, 'name': 'Bob', 'reason': 'disconnected'})
    finally:
        server.workers[1].start()
        server.workers[1].wait_until('/readyz')


async def chat_gets_through(sender: Participant, receiver: Participant, within: float = 5) -> float:
    """Say numbered lines until the receiver hears one; the moment it did."""
    deadline = time.monotonic() + within
    n = 0
    while time.monotonic() < deadline:
        n += 1
        reply = await sender.call('chat', {'text': f'probe {n}'})
        if reply.get('ok'):
            try:
                while True:
                    event, data = await asyncio.wait_for(receiver.inbox.get(), 0.2)
                    if event == 'chat' and data['text'] == f'probe {n}':
                        return time.monotonic()
            except TimeoutError:
                continue
        await asyncio.sleep(0.05)  # pacing the probes, not waiting for a condition
    raise AssertionError('chat did not get through after Redis came back')


async def until_status(url: str, status: int, within: float = 10) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == status:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)  # polling a condition, with a deadline
    raise AssertionError(f'{url} did not answer {status} within {within} s')
