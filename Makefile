# SkyCall: `make run` serves the app, `make test` installs everything and runs every test.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
REDIS_PORT ?= 6379
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run test check fast e2e deps chromium redis haproxy cluster bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

deps: $(STAMP)  ## create .venv and install the Python packages

run: $(STAMP)  ## serve SkyCall on http://127.0.0.1:8080 (in-memory, nothing else needed)
	$(PY) main.py

chromium:  ## install Debian's Chromium when it is missing (Playwright cannot download one here)
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

redis:  ## start a Redis on 127.0.0.1:$(REDIS_PORT) unless one answers; install it when missing
	@command -v redis-server >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)
	@redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port $(REDIS_PORT) --save "" --appendonly no >/dev/null

haproxy:  ## install Debian's HAProxy when missing (the load balancer in front of several workers)
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null)

cluster: $(STAMP) redis haproxy  ## N workers (N=2) sharing Redis, behind HAProxy on http://127.0.0.1:8080
	$(PY) -m deploy.cluster --workers $${N:-2}

node_modules/.bin/tsc: package.json package-lock.json  # TypeScript (pinned in package-lock.json), for the JS type check
	npm ci --no-audit --no-fund
	touch $@

check: $(STAMP) node_modules/.bin/tsc  ## ruff, mypy, and the browser JavaScript's JSDoc types (tsc)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	node_modules/.bin/tsc -p tsconfig.json

fast: $(STAMP)  ## tests without a browser
	$(PY) -m pytest tests

e2e: $(STAMP) chromium  ## end-to-end tests: real server processes, real Chromium
	$(PY) -m pytest -c e2e/pytest.ini e2e

test: deps chromium redis haproxy check fast e2e  ## install what is missing, then run every test

bench: deps chromium redis haproxy  ## benchmarks, not tests (about 7 min): a table, bench/results/latest.json, BENCHMARKS.md
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .nicegui
