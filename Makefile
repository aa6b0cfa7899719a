# lienthong — the two commands: `make up` runs the whole system, `make test` runs the tests (README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
STAMP := $(VENV)/.synced

.PHONY: install up down status logs clean test lint format

install: $(STAMP)

# The virtualenv, with the exact versions of uv.lock. uv is itself pinned and pip-installed into the venv;
# it never downloads a Python (python-downloads = "never" in pyproject.toml).
$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lienthong needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@echo "installing Python dependencies into $(VENV) (from uv.lock) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --quiet --frozen --inexact
	@touch $@

up: install
	@$(PY) -m deploy.local up

down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local down; else echo "nothing installed, nothing running"; fi

status: install
	@$(PY) -m deploy.local status

logs: install
	@$(PY) -m deploy.local logs $(if $(FOLLOW),--follow) $(PARTS)

clean:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local clean; else rm -rf .local; fi

test: install
	@$(PY) -m tests.run $(TIERS)

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

format: install
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .
