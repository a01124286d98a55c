# Newsroom: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/newsroom

.PHONY: run test test-postgres lint format install serve demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's requirements change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## make run: install, migrate, load the demo content and serve http://127.0.0.1:8000/
run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py import_yaml fixtures/ || true
	DJANGO_DEBUG=1 $(BIN)/python manage.py demo_editor --url http://$(HOST):$(PORT)/admin/
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: install and run the whole suite (SQLite)
test: install
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings >/dev/null
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

## make test-postgres: the same suite against PostgreSQL (DATABASE_URL=$(PG_TEST_URL))
test-postgres: install
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
