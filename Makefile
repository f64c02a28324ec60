# Wuyi. `make run` starts the whole app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-clock bench-smoke restore-check check install install-dev vardirs migrate demo lint typecheck format messages screenshots clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Wuyi needs Python 3.11 or newer, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# make run installs what the app needs; make test and make check add the tools.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

vardirs:
	@mkdir -p var/celery/broker var/celery/processed var/celery/control

migrate: install vardirs
	@$(BIN)/python manage.py migrate --check >/dev/null 2>&1 || $(BIN)/python manage.py migrate --noinput

# The demo data once (var/.demo-seeded remembers it); `make demo` loads it again.
var/.demo-seeded:
	$(BIN)/python manage.py seed_demo
	@touch $@

demo: migrate
	$(BIN)/python manage.py seed_demo
	@touch var/.demo-seeded

# Web server, Celery worker and Celery beat together; Ctrl-C stops all three. A later start
# skips what is already done (install, migrations, demo data).
run: migrate
	@$(MAKE) --no-print-directory var/.demo-seeded
	@echo ""
	@echo "  Demo accounts (password Wuyi@2026):"
	@echo "    secretary    community secretary of 天庆社区 (城关区 团结新村街道)"
	@echo "    secretary2   community secretary of 西园社区 (七里河区)"
	@echo "    subdistrict  sub-district staff of 团结新村街道"
	@echo "    district     district staff of 城关区"
	@echo "    volunteer    volunteer at 天庆丽舍"
	@echo "    medic        on-site medical worker at 天庆丽舍"
	@echo "    admin        superuser"
	@echo "  Starting on $(HOST):$(PORT) (set HOST= and PORT= to change); the address is printed"
	@echo "  when the server answers. Ctrl-C stops the web server, the worker and beat."
	@echo ""
	@$(BIN)/python -m wuyi.devrun $(HOST):$(PORT)

# The whole suite: SQLite unless DATABASE_URL says otherwise, spread over the cores by
# pytest-xdist (TEST_WORKERS=0 runs it in one process). Browser tests need Chromium (Debian's
# chromium package); without it they are skipped with the reason printed.
TEST_WORKERS ?= auto
test: install-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The tests that depend on which day it is (marker "clock"), each run twice: starting at 23:58
# and at 00:02 Asia/Shanghai of today (WUYI_TEST_NOW, read by tests/conftest.py; the clock ticks
# on from there; the pytest header prints the instants). CLOCK_AT=2026-12-04T07:59+08:00,...
# chooses others; any test runs at a chosen instant so: WUYI_TEST_NOW=... pytest tests/...
CLOCK_DAY := $(shell TZ=Asia/Shanghai date +%F)
CLOCK_AT ?= $(CLOCK_DAY)T23:58:00+08:00,$(CLOCK_DAY)T00:02:00+08:00
test-clock: install-dev
	@echo "test-clock: the tests marked clock, each starting at $(CLOCK_AT) (Shanghai time)"
	WUYI_TEST_NOW=$(CLOCK_AT) $(BIN)/python -m pytest -n $(TEST_WORKERS) -m clock

# Every bench at its --smoke size, so that a bench cannot rot unnoticed (bench/README.md). They
# need PostgreSQL (BENCH_DATABASE_URL, a database whose name contains "bench"; --smoke appends
# _smoke to it) and, for sms_fanout.py, Redis (REDIS_URL). Every bench/*.py is a bench but the
# helpers listed here.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wuyi_bench
BENCH_HELPERS := bench/benchdb.py bench/benchdata.py bench/sms_naive.py bench/load_settings.py
BENCHES := $(filter-out $(BENCH_HELPERS),$(sort $(wildcard bench/*.py)))
bench-smoke: install-dev
	@failed=""; for bench in $(BENCHES); do \
	  started=$$(date +%s); \
	  echo "bench-smoke: $$bench --smoke"; \
	  DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python $$bench --smoke || failed="$$failed $$bench"; \
	  echo "bench-smoke: $$bench took $$(( $$(date +%s) - started )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "bench-smoke: FAILED:$$failed"; exit 1; fi; \
	echo "bench-smoke: every bench ran at its smoke size"

# A nightly backup and its restore check on the demo data (docs/operations.md, Backups): the
# demo loaded into RESTORE_DATABASE_URL, dumped by deploy/backup, restored into a scratch
# database by deploy/restore-check and compared table by table.
RESTORE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wuyi_restore
restore-check: install
	DATABASE_URL=$(RESTORE_DATABASE_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(RESTORE_DATABASE_URL) $(BIN)/python manage.py seed_demo
	@rm -rf var/restore-check
	DATABASE_URL=$(RESTORE_DATABASE_URL) WUYI_PYTHON=$(BIN)/python deploy/backup --dir var/restore-check
	DATABASE_URL=$(RESTORE_DATABASE_URL) WUYI_PYTHON=$(BIN)/python deploy/restore-check --dir var/restore-check
	@rm -rf var/restore-check

# What CI refuses besides the tests: lint, types, migrations, the floors of DESIGN.md.
check: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run
	@if [ -f ../shared/tools/check_floors.py ]; then python3 ../shared/tools/check_floors.py .; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-extract the catalogues (the .po files are the source: existing translations are kept; new
# messages arrive empty, to be translated in locale/zh_Hans/LC_MESSAGES/django.po), compile.
# tests/test_translations.py fails while a message has no Chinese.
messages: install-dev
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv

# Refresh docs/screenshots from the browser tests.
screenshots: install-dev
	WUYI_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e

clean:
	rm -rf var
