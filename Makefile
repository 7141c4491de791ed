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
DEMO_ENV := DEBUG=1 DATABASE_URL= REDIS_URL=

.PHONY: install browser-deps demo demo-data test test-fast lint format bench-ingest clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo-data: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 1
	$(DEMO_ENV) $(BIN)/python manage.py load_demo --no-progress
	$(DEMO_ENV) $(BIN)/python manage.py rollups

demo: demo-data
	$(DEMO_ENV) $(BIN)/python manage.py train --if-no-model --set max_train_seconds=$(DEMO_TRAIN_SECONDS)
	$(DEMO_ENV) $(BIN)/python manage.py demo_staff --url http://$(HOST):$(PORT)/admin/
	@echo "Serving the shop at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
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
