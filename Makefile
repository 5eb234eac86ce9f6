# Each target builds .venv first, from the versions pinned in requirements.lock,
# and reuses it until pyproject.toml or the lock changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# With REDIS_URL set, the service uses that server and the embedded one (the
# Procfile's "redis") stays off. DEMO_ACTIVITY=0 leaves the demo CRM still.
RUN_PROCESSES := web worker beat $(if $(REDIS_URL),,redis) \
	$(if $(filter 0,$(DEMO_ACTIVITY)),,activity)

.PHONY: run test lint lock

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start $(RUN_PROCESSES)

test: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Resolves against PyPI alone: the machine's pip configuration may add other
# indexes, whose files a fresh install elsewhere could not find. `make lock
# UPGRADE=1` moves every pin to the newest version pyproject.toml allows.
lock: $(BIN)/python
	test -x $(BIN)/pip-compile || $(BIN)/python -m pip install pip-tools
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
		PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile $(if $(UPGRADE),--upgrade) \
		--extra dev --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --quiet --output-file requirements.lock pyproject.toml

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -c requirements.lock pip
	$(BIN)/python -m pip install -c requirements.lock -e '.[dev]'
	touch $@
