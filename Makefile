# Two commands: `make run` (set up + demo + serve) and `make test` (set up + the whole suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup demo check lint migrations-check bench worker clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

run: demo
	@echo ""
	@echo "  COSMO / AVATAR II EDC: http://127.0.0.1:8000/  (demo logins above; Ctrl-C stops)"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# Browser tests need Chromium: scripts/ensure-chromium finds it (installing Debian's package when root) or says why not.
# The suite runs on every core (pytest-xdist). Tests with real Celery workers keep apart by themselves (a queue or a
# broker database each): --dist loadgroup does not group with pytest 9.2 + xdist 3.8 (pytest-xdist#1386).
PYTEST_PARALLEL ?= -n auto --dist loadgroup
test: setup
	@source scripts/ensure-chromium && $(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

check: setup lint migrations-check
	$(BIN)/python manage.py check
	$(BIN)/mypy .

lint: setup
	$(BIN)/ruff check .

migrations-check: setup
	$(BIN)/python manage.py makemigrations --check --dry-run

# Benchmarks (docs/benchmarks.md; `make bench BENCH=load` runs one): every figure on PostgreSQL, the local server unless
# DATABASE_URL says otherwise (each benchmark works in a throwaway copy beside it). The load benchmark drives gunicorn
# with wrk: Debian's package, installed here when root (as scripts/ensure-chromium does for the browser tests).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cosmo_avatar_bench
bench: setup
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "wrk not found: installing Debian's wrk package for the load benchmark..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	      || { echo "Installing wrk with apt-get failed."; exit 1; }; \
	  else \
	    echo "The load benchmark needs wrk, which is not installed (not root, so not installed here):"; \
	    echo "install it with: sudo apt-get install wrk"; exit 1; \
	  fi; }
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(BIN)/python benchmarks/run_all.py $(BENCH)

worker: setup
	$(BIN)/celery -A cosmo_avatar worker --loglevel=INFO --concurrency=2

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
