# Both targets bootstrap their own virtualenv; nothing needs to be installed or running beforehand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg15 lint schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: the main job end to end on the embedded PostgreSQL (or $$WOE_DATABASE_URL)
demo: $(STAMP)
	$(PY) -m harness.run $(ARGS)

## test: the whole test suite (starts its own embedded PostgreSQL)
test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

## test-pg15: the whole suite against a throwaway PostgreSQL 15 (Debian's postgresql-15)
test-pg15: $(STAMP)
	$(PY) -m tests.postgres15 -q $(ARGS)

## lint: ruff on the code, squawk on the offline migration SQL
lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests migrations bench
	$(PY) -m harness.lint_migrations

## schema: regenerate migrations/schema.sql from a fresh upgrade head
schema: $(STAMP)
	$(PY) -m harness.schema_snapshot --write

## bench: the training benchmark (bench/bench_train.py $(ARGS)); the dev install has pandas
bench: $(STAMP)
	$(PY) bench/bench_train.py $(ARGS)

clean:
	rm -rf $(VENV)
