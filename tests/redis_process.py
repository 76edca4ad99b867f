"""A redis-server of a test's own, on a free port, that the test may stop and start again.

Tests that stop Redis never touch the shared one on 6379. The data is kept in an append-only file,
so that, as with a production Redis, rooms survive a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from deploy.cluster import Cluster
from tests.server import free_port


class RedisProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self.dir = Path(tempfile.mkdtemp(prefix='skycall-redis-'))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisProcess:
        binary = shutil.which('redis-server')
        if binary is None:
            pytest.fail('redis-server is not installed: run `make redis`', pytrace=False)
        self.process = subprocess.Popen(
            [binary, '--port', str(self.port), '--bind', '127.0.0.1', '--dir', str(self.dir), '--save', '',
             '--appendonly', 'yes', '--appendfsync', 'always'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    time.sleep(0.05)  # polling a condition, with a deadline
        finally:
            client.close()
        raise RuntimeError('redis-server did not start')

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def ready_cluster(workers: int, secret: str, log_dir: Path) -> Iterator[Cluster]:
    """``workers`` SkyCall workers behind HAProxy, sharing a Redis of their own, all ready for calls."""
    redis_server = RedisProcess().start()
    cluster = Cluster(workers, free_port(), redis_server.url, secret, log_dir)
    try:
        cluster.start()
        for worker in cluster.workers:
            worker.wait_until('/readyz')
        yield cluster
    finally:
        cluster.stop()
        redis_server.remove()
