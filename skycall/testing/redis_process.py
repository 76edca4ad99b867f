"""A redis-server of one's own, on a free port, that may be stopped, paused and started again.

Tests that stop Redis never touch the shared one on 6379.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import redis

from .net import free_port
from .processes import stop_process, wait_until


class RedisProcess:
    """redis-server on 127.0.0.1 and a free port, in a directory of its own.

    With ``keep_data`` (the default) the data goes to an append-only file, so that, as with a production
    Redis, rooms survive a restart; without it, every start is a fresh, empty Redis.
    """

    def __init__(self, keep_data: bool = True) -> None:
        self.port = free_port()
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self.keep_data = keep_data
        self.dir = Path(tempfile.mkdtemp(prefix='skycall-redis-'))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisProcess:
        """Start (again, on the same port) and return once it answers PING."""
        binary = shutil.which('redis-server')
        if binary is None:
            raise RuntimeError('redis-server is not installed: run `make redis`')
        persistence = ['--appendonly', 'yes', '--appendfsync', 'always'] if self.keep_data else ['--appendonly', 'no']
        self.process = subprocess.Popen(  # noqa: S603
            [binary, '--port', str(self.port), '--bind', '127.0.0.1', '--dir', str(self.dir), '--save', '',
             *persistence], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            wait_until(lambda: _answers(client), f'redis-server on port {self.port}', timeout=10,
                       process=self.process)
        finally:
            client.close()
        return self

    def stop(self) -> None:
        """SIGKILL: ends a paused server too, and loses nothing an append-only file with fsync kept."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def remove(self) -> None:
        """Stop, and delete its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server would not take a SIGTERM
        stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
