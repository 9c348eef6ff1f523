# hireflow: `make run` starts the service on the embedded default; `make test` installs and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
CHROMIUM_STAMP := $(VENV)/.chromium
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck security bench audit clean install browser

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The dashboard test drives Debian's Chromium; install it when missing and we are root.
$(CHROMIUM_STAMP): $(STAMP)
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; fi
	@if [ -x $(CHROMIUM) ]; then touch $@; else echo "$(CHROMIUM) is missing and we are not root: the browser test will not run"; fi

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $@; else echo "npm is missing: the Node-driven tests will not run"; fi

browser: $(CHROMIUM_STAMP) $(NODE_STAMP)

# On an empty database, the sample (or the CSVs already in the storage) is loaded as an ingest task,
# so that the dashboard shows both reports on first start.
run: $(STAMP)
	$(PY) main.py init-db
	$(PY) main.py generate-sample --if-empty
	$(PY) main.py migrate --if-empty --no-progress
	$(PY) main.py run

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# Static security checks on our own code; every finding is fixed or explained inline (# nosec with a reason).
security: $(STAMP)
	$(PY) -m bandit -q -c pyproject.toml -r domain core infra api cli main.py bootstrap.py

# Known vulnerabilities in the pinned dependencies. Needs internet access to the vulnerability
# databases (not reachable from the CI machines), so it is a separate target, not part of `make test`.
audit: $(STAMP)
	$(PY) -m pip_audit -r requirements.txt -r requirements-dev.txt

test: $(STAMP) browser lint typecheck security
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# QUICK=1: small files, under two minutes. BENCH_ARGS passes more options (python -m bench --help).
bench: $(STAMP)
	$(PY) -m bench $(if $(QUICK),--quick --label "make bench QUICK=1",--label "make bench") $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
