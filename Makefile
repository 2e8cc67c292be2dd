# Atlas-Lotse: everything installs into .venv; torch is pinned and installed first (CPU build).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
BROWSER_STAMP := tests/browser/node_modules/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# PostgreSQL and nginx for the deployment tests (tests/system.py starts them on 127.0.0.1), only if missing.
SYSTEM_PACKAGES := postgresql nginx

.PHONY: install browser-deps system-deps run index lint test bench transcripts validate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/atlas geodata --if-missing
	touch $(STAMP)

# Browser tests: Debian's chromium and chromium-driver (installed only if missing) and axe-core from the
# committed npm lockfile (test-only; node_modules is git-ignored).
browser-deps: $(BROWSER_STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y npm; }
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null; then \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYSTEM_PACKAGES); \
	fi

index: install
	$(BIN)/atlas index --if-changed

run: index
	$(BIN)/atlas serve --host $(HOST) --port $(PORT)

validate: install
	$(BIN)/atlas validate

# The gate: lint and strict types (indexer/, service/) before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install browser-deps system-deps lint
	$(BIN)/python -m pytest

bench: index
	$(BIN)/python -m scripts.bench

transcripts: index
	$(BIN)/python -m scripts.transcripts

clean:
	rm -rf $(VENV) var .pytest_cache
