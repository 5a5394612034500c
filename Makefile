# IOP Assistant. The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install browser web nginx lint validate train test test-unit run run-production \
	bench audit clean clean-cache

help:
	@echo "make run    - install, train if stale, create/upgrade the database, start the stack"
	@echo "make test   - install, lint, validate, train if stale, full test suite"
	@echo "make bench  - NLU figures on the held-out sets (bench/nlu.py)"
	@echo "make run-production - 2 Rasa + 2 action servers behind nginx, PostgreSQL, Redis locks"
	@echo "make audit  - known advisories for the installed packages (pip-audit; needs api.osv.dev)"
	@echo "make install, lint, validate, train, test-unit, browser, web, nginx - the steps above"
	@echo "make clean  - remove models and test output; make clean-cache - the training caches"

# Reinstalled when a requirements file changes; the stamp marks a finished install. A new clone's
# venv is reused from the cache directory when its requirements match (scripts/install.sh).
$(VENV)/.installed: requirements.txt requirements-test.txt requirements-models.txt \
		scripts/find-python.sh scripts/install.sh
	scripts/install.sh
	@touch $@

install: $(VENV)/.installed

# Debian's Chromium for the playwright browser tests (installed with apt when missing).
browser:
	scripts/ensure-chromium.sh

# The website's chat widget (rasa-webchat from npm, web/package-lock.json), when missing or stale.
web:
	scripts/ensure-web.sh

# Debian's nginx for the production profile and its tests (installed with apt when missing).
nginx:
	scripts/ensure-nginx.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: install
	$(VENV)/bin/rasa data validate --fail-on-warnings

train: install
	scripts/train.sh

test-unit: install
	$(PY) -m pytest -q tests/domain tests/db tests/notify tests/rasa tests/ops tests/actions \
		tests/apps/test_action_server.py tests/apps/test_web_proxy.py tests/test_settings.py \
		tests/test_layers.py

test: lint validate train browser web nginx
	$(PY) -m pytest -q --junitxml=test-artifacts/junit.xml

run: train web
	$(PY) -m bot init-db
	$(PY) -m bot serve --demo

# The production profile on this machine (docs/operations.md): PostgreSQL for the conversations
# and the records, Redis for the conversation locks; override either in the environment.
run-production: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/iop
run-production: export LOCK_STORE_URL ?= redis://127.0.0.1:6379/1
run-production: train web nginx
	$(PY) -m bot init-db --create-database
	$(PY) -m bot serve --replicas 2

bench: train
	$(PY) bench/nlu.py

# Not part of `make test`: this machine's package mirror cannot serve an advisory database.
audit: install
	scripts/audit.sh

clean:
	rm -rf models results .rasa test-artifacts

# The caches outside the clone: Rasa's and the sentence embeddings (scripts/train.sh), the venvs
# (scripts/install.sh; a clone's .venv is rebuilt on its next make).
clean-cache:
	rm -rf "$${IOP_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/iop-assistant}"
