"""Several SkyCall workers sharing one Redis behind HAProxy, as ``make cluster`` (deploy/cluster.py) runs them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .api import ApiCalls
from .net import free_port
from .processes import ROOT, SkyCallProcess, http_ok, stop_process, wait_until
from .redis_process import RedisProcess

TEMPLATE = ROOT / 'deploy' / 'haproxy.cfg.template'


class Cluster(ApiCalls):
    """``workers`` SkyCall processes on consecutive ports after ``port``, and HAProxy on ``port``.

    Every worker gets ``redis_url``, ``secret`` and the other SKYCALL_* ``settings`` (``settings``
    holds them all, to start one more worker like them). The API calls go through the load balancer.
    """

    def __init__(self, workers: int, port: int, redis_url: str, secret: str, log_dir: Path,
                 host: str = '127.0.0.1', **settings: str) -> None:
        self.host = host
        self.port = port
        self.url = f'http://{host}:{port}'
        self.log_dir = log_dir
        self.settings = {'redis_url': redis_url, 'secret': secret, **settings}
        self.workers = [SkyCallProcess(port + 1 + i, host=host, log_dir=log_dir, **self.settings)
                        for i in range(workers)]
        self.haproxy: subprocess.Popen[bytes] | None = None

    def start(self) -> Cluster:
        """Start the workers (all at once), wait until each is healthy, then start HAProxy."""
        for worker in self.workers:
            worker.start(wait=False)
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
        log = self.log_dir / f'haproxy-{self.port}.log'
        with log.open('ab') as output:
            self.haproxy = subprocess.Popen([haproxy, '-db', '-f', str(config)],  # noqa: S603
                                            stdout=output, stderr=subprocess.STDOUT)
        wait_until(lambda: http_ok(self.url + '/healthz'), f'HAProxy on port {self.port}', timeout=10,
                   process=self.haproxy, log=log)

    def stop(self) -> None:
        stop_process(self.haproxy)
        for worker in self.workers:
            worker.stop()


@contextmanager
def ready_cluster(workers: int, secret: str, log_dir: Path, redis: RedisProcess | None = None) -> Iterator[Cluster]:
    """``workers`` SkyCall workers behind HAProxy, all ready for calls, sharing ``redis`` or else a Redis of
    their own (removed at the end)."""
    redis_server = redis or RedisProcess().start()
    cluster = Cluster(workers, free_port(), redis_server.url, secret, log_dir)
    try:
        cluster.start()
        for worker in cluster.workers:
            worker.wait_until('/readyz')
        yield cluster
    finally:
        cluster.stop()
        if redis is None:
            redis_server.remove()
