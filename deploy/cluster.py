"""Run SkyCall as several workers behind HAProxy: ``python -m deploy.cluster --workers 3``.

Each worker is ``python main.py`` on its own port (the first port after the load balancer's), all
sharing one Redis and one secret. HAProxy (Debian's package) listens on the public port with sticky
sessions. Ctrl-C stops everything. The class that does it, skycall.testing.cluster.Cluster, is the one
the tests and benchmarks run too.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal

import redis

from skycall.testing.cluster import Cluster
from skycall.testing.processes import ROOT

# Redis connections one worker holds: the store's pool (one per Redis command in flight: a handful at
# ordinary load, more during a burst of page loads), the relay's listener and publisher, python-socketio's
# manager. Nothing per visitor: browsers remember their own state (skycall/pages/memory.py). Redis's
# `maxclients` (10000 by default) should exceed workers x this, with room for bursts and for redis-cli.
REDIS_CLIENTS_PER_WORKER = 32


def check_maxclients(url: str, workers: int) -> str | None:
    """A warning when Redis at ``url`` accepts fewer clients than ``workers`` workers expect, else None."""
    try:
        with redis.Redis.from_url(url, socket_timeout=2) as client:
            maxclients = int(client.config_get('maxclients')['maxclients'])
    except (redis.RedisError, KeyError, ValueError):
        return None  # CONFIG disabled (a managed Redis, say): nothing to compare with
    needed = 2 * workers * REDIS_CLIENTS_PER_WORKER
    if maxclients < needed:
        return (f'Redis maxclients is {maxclients}: {workers} workers use up to about '
                f'{workers * REDIS_CLIENTS_PER_WORKER} connections, with bursts up to {needed}; raise it '
                f'(redis.conf: maxclients {needed} or more).')
    return None


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
    # SIGTERM as Ctrl-C: either one stops the workers and HAProxy too, instead of ending this process
    # alone and leaving them running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        warning = check_maxclients(args.redis_url, args.workers)
        if warning:
            print(f'Warning: {warning}', flush=True)
        cluster.start()
        print(f'SkyCall: {args.workers} workers behind HAProxy on {cluster.url} (logs in .cluster/). Ctrl-C stops.',
              flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()

if __name__ == '__main__':
    main()
