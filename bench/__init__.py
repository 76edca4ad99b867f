"""SkyCall's benchmarks: ``make bench``. They report figures against targets; they are not tests.

One module per benchmark (first_frame, relay, capacity, page_weight, leaks), each starting its own
server process (tests/server.py) so that one benchmark's load or memory never shows in another's.
"""
