# Atlas-Lotse: everything installs into .venv; torch is pinned and installed first (CPU build).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run index test bench validate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

index: install
	$(BIN)/atlas index --if-changed

run: index
	$(BIN)/atlas serve --host $(HOST) --port $(PORT)

validate: install
	$(BIN)/atlas validate

test: install
	$(BIN)/python -m pytest

bench: index
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) var .pytest_cache
