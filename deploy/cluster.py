"""Run SkyCall as several workers behind HAProxy: ``python -m deploy.cluster --workers 3``.

Each worker is ``python main.py`` on its own port (the first port after the load balancer's), all
sharing one Redis and one secret. HAProxy (Debian's package) listens on the public port with sticky
sessions. Ctrl-C stops everything. The tests use the same class.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / 'haproxy.cfg.template'


class Worker:
    """One SkyCall process on ``port``."""

    def __init__(self, port: int, env: dict[str, str], log_dir: Path, host: str = '127.0.0.1') -> None:
        self.port = port
        self.url = f'http://{host}:{port}'
        self.env = {**env, 'SKYCALL_HOST': host, 'SKYCALL_PORT': str(port)}
        self.log = log_dir / f'worker-{port}.log'
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open('ab') as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / 'main.py')], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """Die at once, as a crashed worker would (no goodbye to anyone)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_until(self, path: str, timeout: float = 30) -> None:
        """Wait until ``path`` (/healthz, /readyz) answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f'worker {self.port} exited:\n{self.log.read_text()[-3000:]}')
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a condition, with a deadline
        raise RuntimeError(f'worker {self.port}: {path} not OK within {timeout} s:\n{self.log.read_text()[-3000:]}')


class Cluster:
    """N workers on consecutive ports after ``port``, and HAProxy on ``port``."""

    def __init__(self, workers: int, port: int, redis_url: str, secret: str, log_dir: Path,
                 host: str = '127.0.0.1', **settings: str) -> None:
        self.host = host
        self.port = port
        self.url = f'http://{host}:{port}'
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        env = {k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'}  # else NiceGUI thinks it is tested
        env.update({'SKYCALL_REDIS_URL': redis_url, 'SKYCALL_SECRET': secret})
        env.update({f'SKYCALL_{key.upper()}': value for key, value in settings.items()})
        self.workers = [Worker(port + 1 + i, env, log_dir, host) for i in range(workers)]
        self.haproxy: subprocess.Popen[bytes] | None = None

    def start(self) -> Cluster:
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_until('/healthz')
        self.start_balancer()
        return self

    def start_balancer(self) -> None:
        haproxy = shutil.which('haproxy') or '/usr/sbin/haproxy'
        if not Path(haproxy).exists():
            raise RuntimeError('HAProxy is not installed: `make haproxy` installs Debian\'s package.')
        config = self.log_dir / f'haproxy-{self.port}.cfg'
        servers = '\n'.join(f'    server w{w.port} {self.host}:{w.port} cookie w{w.port} check' for w in self.workers)
        config.write_text(TEMPLATE.read_text().format(bind=f'{self.host}:{self.port}', servers=servers))
        with (self.log_dir / f'haproxy-{self.port}.log').open('ab') as log:
            self.haproxy = subprocess.Popen([haproxy, '-db', '-f', str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + '/healthz', timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a condition, with a deadline
        raise RuntimeError('HAProxy did not start')

    def stop(self) -> None:
        if self.haproxy and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for worker in self.workers:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--host', default=os.environ.get('SKYCALL_HOST', '127.0.0.1'))
    parser.add_argument('--port', type=int, default=int(os.environ.get('SKYCALL_PORT', '8080')),
                        help='where HAProxy listens; workers take the next ports')
    parser.add_argument('--redis-url', default=os.environ.get('SKYCALL_REDIS_URL', 'redis://127.0.0.1:6379/0'))
    args = parser.parse_args()
    secret = os.environ.get('SKYCALL_SECRET') or secrets.token_urlsafe(32)
    cluster = Cluster(args.workers, args.port, args.redis_url, secret, ROOT / '.cluster', host=args.host)
    cluster.start()
    print(f'SkyCall: {args.workers} workers behind HAProxy on {cluster.url} (logs in .cluster/). Ctrl-C stops.')
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
