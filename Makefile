# hireflow: `make run` starts the service on the embedded default; `make test` installs and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench audit clean install

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) main.py init-db
	$(PY) main.py generate-sample --if-empty
	$(PY) main.py migrate

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

test: $(STAMP) lint typecheck
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# QUICK=1: small files, under two minutes. BENCH_ARGS passes more options (python -m bench --help).
bench: $(STAMP)
	$(PY) -m bench $(if $(QUICK),--quick --label "make bench QUICK=1",--label "make bench") $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
