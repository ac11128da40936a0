# Every target bootstraps .venv/ on its own: a fresh machine needs only Python 3.11, pip and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install duckdb1 analyst notebooks dictionary demo serve materialize ui test lint typecheck check bench-ingest bench-pipeline lock clean

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

## The main job end to end: service (on 127.0.0.1:PORT, default 8080) + a simulated day of
## traffic + every asset, in ./data.
demo: PORT = $(or $(VIOLET_DEMO_PORT),8080)
demo: $(STAMP)
	$(BIN)/python -m pipelines demo --port $(PORT)

.env:
	cp .env.example .env
	@echo "made .env from .env.example: set VIOLET_APP_SECRET to your Violet app secret there"

## Run the ingest service on 127.0.0.1:8080 with the settings in .env.
HOST    ?= 127.0.0.1
PORT    ?= 8080
WORKERS ?= 1
serve: $(STAMP) .env
	set -a && . ./.env && set +a && \
	  exec $(BIN)/python -m ingest serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## Run every pipeline asset once, headlessly, on VIOLET_DATA_DIR (default ./data).
materialize: $(STAMP)
	$(BIN)/python -m pipelines materialize

## The Dagster UI (webserver + daemon) on http://127.0.0.1:3000 (PORT=... or VIOLET_UI_PORT).
ui: PORT = $(or $(VIOLET_UI_PORT),3000)
ui: $(STAMP)
	$(BIN)/python -m pipelines ui --host 127.0.0.1 --port $(PORT)

## The whole suite: lint, types, then every test.
test: $(STAMP) $(DUCKDB1_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Throughput/latency of the ingest service against a bare HMAC-checking Starlette app.
bench-pipeline: $(STAMP)
	$(BIN)/python -m bench.pipeline

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

## The chaos suite's long runs (kill -9 loops, full and failing disks, abuse, fuzzing, a soak;
## ~30 min, needs root for its mounts); writes bench/RELIABILITY.md, exits 1 on any finding.
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
