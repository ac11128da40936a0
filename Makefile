# Every target bootstraps .venv/ on its own: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve test lint typecheck check bench-ingest lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## Run the ingest service on 127.0.0.1:8080 (needs VIOLET_APP_SECRET; see .env.example).
serve: $(STAMP)
	$(BIN)/python -m ingest serve --host 127.0.0.1 --port 8080 --workers 1

## The whole suite: lint, types, then every test.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Throughput/latency of the ingest service against a bare HMAC-checking Starlette app.
bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

## Re-resolve requirements.lock from pyproject.toml (needs network to the package registry).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
