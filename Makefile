# Every target bootstraps .venv/ on its own: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install duckdb1 analyst notebooks dictionary demo serve materialize ui desk test browser lint typecheck bench-ingest bench-pipeline lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## The DuckDB 1.x side env (CLI `.venv-duckdb1/bin/duckdb` + Python package): opens the snapshot
## as analysts' DuckDB 1.x tools do; pinned in requirements-duckdb1.lock.
DUCKDB1       := .venv-duckdb1
DUCKDB1_STAMP := $(DUCKDB1)/.installed
$(DUCKDB1_STAMP): requirements-duckdb1.lock
	test -x $(DUCKDB1)/bin/python || $(PYTHON) -m venv $(DUCKDB1)
	$(DUCKDB1)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-duckdb1.lock
	touch $(DUCKDB1_STAMP)

duckdb1: $(DUCKDB1_STAMP)

## The analyst extra (pandas, matplotlib, JupyterLab, ipykernel), pinned in requirements-analyst.lock.
ANALYST_STAMP := $(VENV)/.analyst-installed
$(ANALYST_STAMP): $(STAMP) requirements-analyst.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-analyst.lock
	touch $(ANALYST_STAMP)

analyst: $(ANALYST_STAMP)

## JupyterLab on http://127.0.0.1:8888 (PORT=...) over notebooks/, reading the snapshot of
## VIOLET_DATA_DIR (default ./data) through VIOLET_SNAPSHOT.
notebooks: PORT = $(or $(VIOLET_NOTEBOOK_PORT),8888)
notebooks: $(ANALYST_STAMP)
	VIOLET_SNAPSHOT="$(abspath $(or $(VIOLET_DATA_DIR),data))/analytics.duckdb" \
	  $(BIN)/jupyter lab --ip 127.0.0.1 --port $(PORT) --no-browser --notebook-dir notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

## Regenerate docs/dictionary.md from the COMMENTs of a freshly built small warehouse.
dictionary: $(STAMP)
	$(BIN)/python -m pipelines dictionary

## The main job end to end: service + a simulated day (ending now) + every asset, in its own
## directory data/demo (VIOLET_DEMO_DIR), wiped first each time; ./data is never touched.
demo: PORT = $(or $(VIOLET_DEMO_PORT),8080)
demo: $(STAMP)
	$(BIN)/python -m pipelines demo --port $(PORT)

.env:
	cp .env.example .env
	@echo "made .env from .env.example: set VIOLET_APP_SECRET to your Violet app secret there"

## Run the ingest service on 127.0.0.1:8080 with the settings in .env (a VIOLET_DATA_DIR given
## in the environment or on the command line wins over .env's, e.g. a scratch directory).
HOST    ?= 127.0.0.1
PORT    ?= 8080
WORKERS ?= 1
serve: $(STAMP) .env
	data="$${VIOLET_DATA_DIR:-}" && set -a && . ./.env && set +a && \
	  if [ -n "$$data" ]; then export VIOLET_DATA_DIR="$$data"; fi && \
	  exec $(BIN)/python -m ingest serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## Run every pipeline asset once, headlessly, on VIOLET_DATA_DIR (default ./data).
materialize: $(STAMP)
	$(BIN)/python -m pipelines materialize

## The Dagster UI (webserver + daemon) on http://127.0.0.1:3000 (PORT=... or VIOLET_UI_PORT), on
## VIOLET_DATA_DIR (default ./data; the demo's run: make ui VIOLET_DATA_DIR=data/demo).
ui: PORT = $(or $(VIOLET_UI_PORT),3000)
ui: $(STAMP)
	$(BIN)/python -m pipelines ui --host 127.0.0.1 --port $(PORT)

## The finance desk (queue, details, actions) on http://127.0.0.1:8090, on VIOLET_DATA_DIR.
desk: $(STAMP)
	$(BIN)/python -m pipelines desk --host 127.0.0.1 --port 8090

## Debian's chromium and chromium-driver for the finance desk's browser test (installed with
## apt-get when /usr/bin/chromedriver is missing; sudo when not root). The test fails, never
## skips, when they cannot be installed.
browser:
	@if [ ! -x /usr/bin/chromedriver ]; then \
	  echo "installing chromium and chromium-driver for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver \
	    || { $$SUDO apt-get update && \
	         $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; } \
	    || echo "could not install chromium: tests/pipelines/test_desk_browser.py will fail"; \
	fi

## The whole suite: lint (ruff, sqlfluff), types, then every test.
test: $(STAMP) $(DUCKDB1_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint sql
	$(BIN)/python -m pytest

## sqlfluff: every file in sql/ in the DuckDB dialect (.sqlfluff; the one column option its dialect
## cannot parse, `using compression zstd`, is fenced by `-- noqa: disable=PRS` where it is used).
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/sqlfluff lint sql

typecheck: $(STAMP)
	$(BIN)/mypy

## A 1M-delivery world built by a full and an incremental run, against a bare DuckDB scan.
bench-pipeline: $(STAMP)
	$(BIN)/python -m bench.pipeline

## Throughput/latency of the ingest service against a bare HMAC-checking Starlette app.
bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

## The chaos suite's long runs (kill -9 loops, full and failing disks, abuse, fuzzing, a soak;
## ~40 min, needs root for its mounts); writes bench/RELIABILITY.md, exits 1 on any finding.
.PHONY: chaos
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

## Re-resolve requirements.lock from pyproject.toml (needs network to the package registry).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --no-strip-extras --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra analyst -c requirements.lock --generate-hashes --no-strip-extras --python-version 3.11 -o requirements-analyst.lock
	$(BIN)/uv pip compile requirements-duckdb1.in --generate-hashes --python-version 3.11 -o requirements-duckdb1.lock

clean:
	rm -rf $(VENV) $(DUCKDB1) .pytest_cache .mypy_cache .ruff_cache *.egg-info
