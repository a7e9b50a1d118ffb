# Pooled: two commands do everything on a fresh machine with Python 3.11, Node and make.
#   make run   install, build assets, migrate, seed the demo partnership, serve on 127.0.0.1:8000
#   make test  install the dev tools and run the whole test suite

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
WORKERS ?= 3
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
	$(FLASK) demo seed --if-empty

run: install assets seed
	@echo
	@$(FLASK) demo logins
	@echo
	@echo "Pooled is starting on http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
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

clean:
	rm -rf $(VENV) node_modules app/static/dist .pytest_cache tests/screenshots
