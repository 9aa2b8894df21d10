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
# The suite runs on every core (pytest-xdist); the real-worker tests share one broker, so they form one xdist group.
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

bench: setup
	$(BIN)/python benchmarks/run_all.py

worker: setup
	$(BIN)/celery -A cosmo_avatar worker --loglevel=INFO --concurrency=2

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
