"""SkyCall's benchmarks: ``make bench``. They report figures against targets; they are not tests.

One module per benchmark (first_frame, relay, capacity, page_weight, leaks, worker_death, echo), each
starting its own server process (skycall.testing) so that one benchmark's load or memory never shows in
another's. Each returns a result dataclass (bench/results.py) that declares its rows and targets;
bench/report.py lays them out, bench/run.py runs them.
"""
