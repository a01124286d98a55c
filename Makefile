# Newsroom: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/newsroom

# The demo content's images (on a made-up host) come from fixtures/images/, through the
# image cache like any other image, without a request leaving the machine.
DEMO_IMAGES := DJANGO_DEBUG=1 NEWSROOM_IMAGE_SOURCES=https://images.example.org/=fixtures/images

.PHONY: run test test-postgres lint format install serve demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's requirements change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## make run: install, migrate, load the demo content and serve http://127.0.0.1:8000/,
## with a task worker beside the server (manage.py with_worker); Ctrl-C stops both
run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py import_yaml fixtures/
	$(DEMO_IMAGES) $(BIN)/python manage.py cache_images
	DJANGO_DEBUG=1 $(BIN)/python manage.py demo_accounts --url http://$(HOST):$(PORT)/admin/
	$(DEMO_IMAGES) $(BIN)/python manage.py with_worker -- \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make serve: a production-like server on http://$(HOST):$(PORT)/ (gunicorn, DEBUG off,
## whitenoise static files, media from MEDIA_ROOT) with a task worker beside it; Ctrl-C stops both. Plain HTTP,
## so the HTTPS redirect and secure-only cookies are off unless set; without
## DJANGO_SECRET_KEY a throwaway key is made for this run.
serve: install
	@if [ -z "$$DJANGO_SECRET_KEY" ]; then \
	  echo "make serve: DJANGO_SECRET_KEY is not set; using a throwaway key for this run" \
	    "(sessions end when the server stops). Set it for anything but a local trial."; \
	fi
	@export DJANGO_DEBUG=0 \
	  DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	  DJANGO_SECURE_SSL_REDIRECT="$${DJANGO_SECURE_SSL_REDIRECT:-0}" \
	  DJANGO_SECURE_COOKIES="$${DJANGO_SECURE_COOKIES:-0}" \
	  NEWSROOM_SERVE_MEDIA="$${NEWSROOM_SERVE_MEDIA:-1}"; \
	$(BIN)/python manage.py collectstatic --noinput -v 0 && \
	$(BIN)/python manage.py migrate --noinput -v 0 && \
	exec $(BIN)/python manage.py with_worker -- \
	  $(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) newsroom.wsgi

## make test: install and run the whole suite (SQLite)
test: install
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 -q

## make test-postgres: the same suite against PostgreSQL (DATABASE_URL=$(PG_TEST_URL))
test-postgres: install
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n 2 -q

## make test-e2e: only the browser tests (tests/e2e), failing instead of skipping when
## Chromium is missing (`apt-get install -y chromium`); screenshots go to test-results/
.PHONY: test-e2e
test-e2e: install
	$(BIN)/python -m pip install --quiet -e '.[dev,e2e]'
	NEWSROOM_E2E=require $(BIN)/python -m pytest -n 2 -q tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
