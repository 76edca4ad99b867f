"""What SkyCall's tests, end-to-end tests, benchmarks and ``deploy/cluster.py`` share (like ``nicegui.testing``).

- ``net``: free ports and loopback client addresses.
- ``processes``: a SkyCall process (``python main.py``) and the one "wait until it answers" loop.
- ``redis_process``: a redis-server of one's own, to stop, pause and start again.
- ``cluster``: several workers sharing Redis behind HAProxy (what ``make cluster`` runs).
- ``api``: the HTTP API (new rooms, tickets).
- ``people``: a participant as a socket.io client of the signaling server, speaking the raw protocol.
- ``browser`` and ``call_steps`` (need Playwright, a dev dependency): Chromium with a fake camera, and what
  people do in a call, as steps.

It lives inside the package, not in ``tests/``, so that the benchmarks and the operator's cluster tool
import it without importing any test module. Processes run the ``main.py`` of the checkout it sits in.
"""
