# Two commands on a fresh machine: `make demo` and `make test` (Python 3.11 only needed).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo's training budget on a laptop CPU (the full benchmark trains far longer).
DEMO_TRAIN_SECONDS ?= 120
# The demo runs the embedded default: SQLite under var/, Celery in process, no Redis.
# It serves as production does (DEBUG off: the shop's own 404 and 500 pages, static files
# by WhiteNoise after collectstatic), but on plain HTTP for this machine: a random key kept
# in var/, no HTTPS redirect, no HSTS, cookies without the Secure flag (every browser
# signs in over http then); DEMO_DEBUG=1 shows Django's debug pages instead.
DEMO_DEBUG ?= 0
DEMO_KEY := var/demo-secret-key
DEMO_ENV := DEBUG=$(DEMO_DEBUG) SECRET_KEY="$$(cat $(DEMO_KEY))" \
	ALLOWED_HOSTS=$(HOST),127.0.0.1,localhost SECURE_SSL_REDIRECT=0 SECURE_HSTS_SECONDS=0 \
	SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 DATABASE_URL= REDIS_URL=

.PHONY: install browser-deps demo demo-data test test-fast lint format bench-ingest clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

$(DEMO_KEY):
	@mkdir -p $(dir $@) && umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

demo-data: install $(DEMO_KEY)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 1
	$(DEMO_ENV) $(BIN)/python manage.py load_demo --no-progress
	$(DEMO_ENV) $(BIN)/python manage.py rollups

demo: demo-data
	$(DEMO_ENV) $(BIN)/python manage.py train --if-no-model --set max_train_seconds=$(DEMO_TRAIN_SECONDS)
	$(DEMO_ENV) $(BIN)/python manage.py demo_staff --url http://$(HOST):$(PORT)/admin/
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	@echo "Serving the shop at http://$(HOST):$(PORT)/ (Ctrl-C to stop), DEBUG=$(DEMO_DEBUG):" \
	  "$(if $(filter 0,$(DEMO_DEBUG)),production error pages; make demo DEMO_DEBUG=1 for Django's debug pages,Django's debug pages; make demo DEMO_DEBUG=0 for the production ones)"
	$(DEMO_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The browser tests drive Debian's chromium through its chromedriver: installed here
# when missing and apt-get can run (root, as in CI); elsewhere those tests are skipped.
browser-deps:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get install -y -q chromium chromium-driver >/dev/null || \
	      { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	    else echo "chromium/chromedriver missing and not root: browser tests will be skipped"; fi; }

test: install browser-deps
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tools/code_shape.py

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-ingest: install
	$(BIN)/python -m bench.ingest --json var/bench-ingest.json

clean:
	rm -rf $(VENV) var/db.sqlite3* staticfiles
