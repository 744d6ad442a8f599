# Two commands matter: `make demo` (install, build, serve on localhost) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: lock install install-python install-frontend install-browser install-services frontend demo test test-deep lint schema bench dist

install: install-python install-frontend

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Every package, transitive ones included, at the version and sha256 of the lock;
# `make lock` rewrites the locks after a pin in requirements*.txt changed.
install-python: $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .

install-frontend:
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund; fi

# Debian's Chromium for the browser tests (never a downloaded browser).
install-browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Debian's PostgreSQL and nginx for the several-servers tests (tests/server/test_postgres.py
# starts its own on loopback; neither runs as a service).
install-services:
	@command -v nginx >/dev/null && (command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql nginx)

frontend:
	@if [ -f frontend/package.json ]; then cd frontend && npm run build; fi

demo: install frontend
	$(BIN)/errorwave serve --host $(HOST) --port $(PORT)

# requirements.lock and requirements-dev.lock from the pins (tools/lock.py).
lock: $(BIN)/python
	$(BIN)/pip install -q packaging==26.4
	$(BIN)/python tools/lock.py

schema:
	$(BIN)/errorwave schema

lint:
	$(BIN)/ruff check backend tests benchmarks tools setup.py
	$(BIN)/mypy

test: install install-browser install-services frontend lint
	cd frontend && npm test
	$(BIN)/pytest -q --durations=25

# The property tests over random graphs with many more examples (minutes, not in CI).
test-deep: install
	ERRORWAVE_HYPOTHESIS_PROFILE=deep $(BIN)/pytest -q tests/engine/test_properties.py

# The sdist and the wheel in dist/ (the wheel carries the built page, presets and schemas).
dist: install frontend
	rm -rf dist build
	$(BIN)/python -m build --no-isolation --outdir dist .
	@ls -l dist

bench:
	$(BIN)/python benchmarks/engine.py
	@if [ -f benchmarks/server.py ]; then $(BIN)/python benchmarks/server.py; fi
	@if [ -f benchmarks/browser.py ]; then $(BIN)/python benchmarks/browser.py; fi
	@if [ -f benchmarks/training.py ]; then $(BIN)/python benchmarks/training.py; fi
