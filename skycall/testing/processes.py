"""A SkyCall process (``python main.py``) on a port of its own, and the one loop that waits for a
process to answer.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Self

import httpx

from .api import ApiCalls
from .net import free_port

ROOT = Path(__file__).resolve().parents[2]  # the checkout: main.py, deploy/, .pytest_cache/
LOG_DIR = ROOT / '.pytest_cache'
DEFAULT_SECRET = 'test-secret-test-secret-test-secret'  # noqa: S105 (test servers only)


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200 (within a second)."""
    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check: Callable[[], bool], what: str, *, timeout: float = 30,
               process: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds, or as soon as ``process`` exits.

    ``what`` names the process in the error; the end of ``log``, when given, is added to it.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f'{what} exited with {process.returncode}{_tail(log)}')
        if time.monotonic() > deadline:
            raise RuntimeError(f'{what}: not ready within {timeout} s{_tail(log)}')
        time.sleep(0.05)  # polling a condition, with a deadline


def _tail(log: Path | None) -> str:
    return f':\n{log.read_text(errors="replace")[-3000:]}' if log is not None and log.exists() else ''


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, and SIGKILL after 10 s if that did not end it."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SkyCallProcess(ApiCalls):
    """``python main.py`` on ``port`` (a free one by default), SKYCALL_* settings as keyword arguments
    (``redis_url='…'`` sets SKYCALL_REDIS_URL). ``start()`` starts it and waits until /healthz answers.

    Output goes to ``log_dir``/skycall-<port>.log. A context manager: it stops on leaving.
    """

    def __init__(self, port: int | None = None, *, host: str = '127.0.0.1', log_dir: Path = LOG_DIR,
                 **settings: str) -> None:
        self.host = host
        self.port = port or free_port()
        self.url = f'http://{host}:{self.port}'
        self.settings = {'secret': DEFAULT_SECRET, **settings}
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / f'skycall-{self.port}.log'
        self.process: subprocess.Popen[bytes] | None = None
        self.fd_limit: tuple[int, int] | None = None

    @property
    def secret(self) -> str:
        return self.settings['secret']

    @property
    def env(self) -> dict[str, str]:
        """The child's environment: this one's, with the SKYCALL_* settings over it."""
        # Without PYTEST_CURRENT_TEST: NiceGUI in the child would believe it runs under its own test plugin.
        env = {key: value for key, value in os.environ.items() if key != 'PYTEST_CURRENT_TEST'}
        env.update({f'SKYCALL_{key.upper()}': value for key, value in self.settings.items()})
        env.update({'SKYCALL_HOST': self.host, 'SKYCALL_PORT': str(self.port)})
        return env

    def limit_open_files(self, soft: int, hard: int) -> Self:
        """Start the process with at most this many open files (for tests of file-descriptor exhaustion)."""
        self.fd_limit = (soft, hard)
        return self

    def start(self, wait: bool = True) -> Self:
        """Start the process (appending to its log); with ``wait``, return once /healthz answers."""
        with self.log.open('ab') as log:
            limit = self.fd_limit and partial(resource.setrlimit, resource.RLIMIT_NOFILE, self.fd_limit)  # in the child
            self.process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=self.env,  # noqa: S603
                                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit)
        if wait:
            try:
                self.wait_until('/healthz')
            except RuntimeError:
                self.stop()
                raise
        return self

    def wait_until(self, path: str, timeout: float = 30) -> None:
        """Wait until ``path`` (/healthz, /readyz) answers 200."""
        wait_until(lambda: http_ok(self.url + path), f'SkyCall on port {self.port} ({path})', timeout=timeout,
                   process=self.process, log=self.log)

    def kill(self) -> None:
        """Die at once, as a crashed worker would (no goodbye to anyone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        stop_process(self.process)

    def new_room(self) -> str:
        """A new room, by a plain blocking request (browser tests run inside Playwright's event loop)."""
        response = httpx.post(f'{self.url}/api/rooms', timeout=5, trust_env=False)
        response.raise_for_status()
        return str(response.json()['room'])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
