# lienthong — the two commands: `make up` runs the whole system, `make test` runs the tests (README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
STAMP := $(VENV)/.synced

LOCK_OPTIONS := --generate-hashes --no-header --python-version 3.11 --quiet

.PHONY: install lock up down status logs clean test lint format events bench

install: $(STAMP)

# The virtualenv, with the exact versions and hashes of requirements/dev.txt (uv, pinned, installs them; it
# never downloads a Python: python-downloads = "never" in pyproject.toml).
$(STAMP): pyproject.toml requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lienthong needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@echo "installing Python dependencies into $(VENV) (from requirements/dev.txt) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(VENV)/bin/uv pip sync --quiet --python $(PY) --require-hashes requirements/dev.txt
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --editable .
	@touch $@

# After changing a dependency in pyproject.toml: pin the new set (runtime for the image, dev for everything).
lock: $(STAMP)
	@$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_OPTIONS) -o requirements/runtime.txt
	@$(VENV)/bin/uv pip compile pyproject.toml --group dev --group local $(LOCK_OPTIONS) -o requirements/dev.txt

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

# Dossiers per second end to end against the machine's own floor (docs/performance.md); options: BENCH_ARGS="--help".
bench: install
	@$(PY) -m bench $(BENCH_ARGS)

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

format: install
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

# After changing an event model: regenerate shared/events/schemas/, docs/asyncapi.yaml and docs/events.md (refuses
# an incompatible change to a committed schema: bump the model's version).
events: install
	@$(PY) -m shared.events.generate
