"""A real SkyCall server in a child process, for tests that talk to it over the network."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


class SkyCallServer:
    """``python main.py`` on a free port; ``url`` is where it answers. ``fd_limit`` (soft, hard) limits
    its open files, for tests of file-descriptor exhaustion."""

    def __init__(self, *, fd_limit: tuple[int, int] | None = None, **settings: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        env = {k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'}  # else NiceGUI thinks it is tested
        env.update({'SKYCALL_HOST': '127.0.0.1', 'SKYCALL_PORT': str(self.port),
                    'SKYCALL_SECRET': 'test-secret-test-secret-test-secret'})
        env.update({f'SKYCALL_{key.upper()}': value for key, value in settings.items()})
        self.log = (ROOT / '.pytest_cache' / f'server-{self.port}.log')
        self.log.parent.mkdir(exist_ok=True)
        self._log_file = self.log.open('w')
        limit = fd_limit and partial(resource.setrlimit, resource.RLIMIT_NOFILE, fd_limit)  # in the child
        self.process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=env,
                                        stdout=self._log_file, stderr=subprocess.STDOUT, preexec_fn=limit)
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'SkyCall exited with {self.process.returncode}:\n{self.log.read_text()}')
            try:
                if httpx.get(f'{self.url}/healthz', timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a condition, with a deadline
        self.stop()
        raise RuntimeError(f'SkyCall did not become healthy in {timeout} s:\n{self.log.read_text()}')

    def new_room(self) -> str:
        response = httpx.post(f'{self.url}/api/rooms', timeout=5)
        response.raise_for_status()
        return str(response.json()['room'])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
