# Pooled: two commands do everything on a fresh machine with Python 3.11, Node and make.
#   make run   install, build assets, migrate, seed the demo partnership, serve on 127.0.0.1:8000
#              with a job-queue consumer beside it (Ctrl-C stops both); `make run DEMO=0` seeds
#              nothing and says how to set up a real partnership (`flask setup`)
#   make test  install the dev tools and run the whole test suite

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
# 1: seed the demo partnership into an empty database; 0: start empty (then `flask setup`).
DEMO ?= 1
WORKERS ?= 3
# Jobs the queue consumer runs at the same time (threads).
JOB_WORKERS ?= 2
# One pytest worker per core; each worker has its own databases and live servers.
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: run test install install-dev assets migrate seed lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

assets: node_modules/.installed
	npm run --silent build

migrate: install
	$(FLASK) db upgrade

seed: migrate
ifeq ($(DEMO),0)
	@echo "DEMO=0: no demo data seeded."
else
	$(FLASK) demo seed --if-empty
endif

run: install assets seed
	@echo
ifeq ($(DEMO),0)
	@echo "An empty partnership. Create its settings and invite its first admin with:"
	@echo "  $(FLASK) setup --partnership-name \"Your Partnership\" --admin-email you@example.org [--admin-name \"Your Name\"]"
	@echo "(the command prints the invitation link and emails it; skip this if it was done before)"
else
	@$(FLASK) demo logins
endif
	@echo
	@echo "Pooled is starting on http://127.0.0.1:$(PORT), with a job consumer  (Ctrl-C stops both)"
	@# The consumer runs in the background; whichever way this recipe ends (Ctrl-C, gunicorn
	@# exiting), the EXIT trap stops it and waits for it.
	@$(FLASK) jobs worker --workers $(JOB_WORKERS) & consumer=$$!; \
	trap 'kill -TERM $$consumer 2>/dev/null; wait $$consumer 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --no-control-socket --access-logfile - wsgi:app

test: install-dev assets
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python -m bench.aggregator --size all
	$(BIN)/python -m bench.dashboards
	$(BIN)/python -m bench.web

clean:
	rm -rf $(VENV) node_modules app/static/dist .pytest_cache tests/screenshots
