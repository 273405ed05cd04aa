# CertLab's two commands:  make run  (the embedded lab)  and  make test  (every test).
# Both set up what they need on a fresh clone; a second run reuses it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint format pytest services browser clean

run: $(RUNTIME_STAMP)
	$(BIN)/python -m certlab.run

# The whole suite runs on pytest-xdist workers: its end-to-end tests mostly wait on the processes
# they start, so three workers overlap them well even on two busy cores (tests/settings.py gives
# each worker its own test database, Redis database and data folder).
PYTEST_WORKERS ?= 3

test: $(DEV_STAMP) services browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# Only pytest (in one process), for a quick loop once `make test` has set things up once.
pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

services:
	@bash scripts/ensure-services

browser:
	@bash scripts/ensure-chromium

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

clean:
	rm -rf $(VENV) var
