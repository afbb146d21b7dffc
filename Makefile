# LoveMart developer and CI entry points. `.ci/run` calls these same targets.
# `make` alone lists the targets; each carries a `## help` line.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
RUFF := $(VENV)/bin/ruff
HOST := 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?= -n 2  # two workers: each has its own SQLite copies and PostgreSQL database
CHECK_DATABASE_URL ?=
LINT_PATHS := lovemart tests wsgi.py
TRANSLATIONS := lovemart/translations

.PHONY: help venv translations run test soak bench lint fmt check clean distclean

help: ## Show this list of targets
	@echo "LoveMart — make targets (PORT=$(PORT) WORKERS=$(WORKERS)):"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	@test -n "$(PYTHON)" || { echo "error: python3.11 or python3 not found" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) is older than Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than requirements.txt once it is installed; editing requirements.txt reinstalls.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed ## Create .venv and install requirements.txt (again only when it changes)

translations: venv ## Compile the .po catalogues to .mo (skipped while there are none)
	@if compgen -G '$(TRANSLATIONS)/*/LC_MESSAGES/*.po' >/dev/null; then \
		$(VENV)/bin/pybabel compile --domain messages -d $(TRANSLATIONS); \
	else \
		echo "translations: no .po files under $(TRANSLATIONS), nothing to compile"; \
	fi

instance:
	@mkdir -p -m 700 instance

run: venv translations instance ## Migrate, load the demo if the database is empty, serve with gunicorn on 127.0.0.1:PORT
	$(FLASK) db upgrade
	$(FLASK) lovemart demo --if-empty
	@echo
	@echo "LoveMart is starting at http://$(HOST):$(PORT)/"
	@echo "Demo accounts (password demo1234, demo only): admin, supervisor, leader (啊道村),"
	@echo "  xly-admin (下里垣村), cjs-supervisor (陈家山村), county (宜川县), yingwang (英旺乡), sysadmin."
	@echo "Tour: README.md, 'A five-minute tour of the demo'. Stop with Ctrl-C."
	@echo
	HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) exec $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

test: venv translations ## Run the pytest suite (SQLite, and PostgreSQL when reachable); PYTEST_ARGS=... passes options
	$(PY) -m pytest $(PYTEST_ARGS)

soak: venv translations ## The issue's full sizes of the load, crash and model tests (LOVEMART_SOAK=1; tens of minutes)
	LOVEMART_SOAK=1 $(PY) -m pytest -m "load or soak" -n 0 $(SOAK_ARGS)

bench: venv translations ## Benchmarks against this machine's floors (minutes; BENCH_ARGS=--quick to try)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(VENV)/.installed-dev ## ruff check and ruff format --check
	$(RUFF) check $(LINT_PATHS)
	$(RUFF) format --check $(LINT_PATHS)

fmt: $(VENV)/.installed-dev ## Apply ruff's fixes and formatting
	$(RUFF) check --fix $(LINT_PATHS)
	$(RUFF) format $(LINT_PATHS)

check: venv ## flask db upgrade + db check on a fresh database (temp SQLite, or an empty CHECK_DATABASE_URL)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export DATABASE_URL="$(or $(CHECK_DATABASE_URL),sqlite:///$$tmp/check.db)" SECRET_KEY=make-check; \
	echo "$(FLASK) db upgrade && $(FLASK) db check   # on $${DATABASE_URL%%:*}"; \
	$(FLASK) db upgrade && $(FLASK) db check

clean: ## Remove caches and compiled translations (keeps .venv and instance/, which holds the data)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
	find $(TRANSLATIONS) -name '*.mo' -delete 2>/dev/null || true

distclean: clean ## Also remove .venv (instance/ is never touched)
	rm -rf $(VENV)
