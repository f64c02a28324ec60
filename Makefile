# Wuyi. `make run` starts the whole app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check install install-dev vardirs migrate demo lint typecheck format messages screenshots clean

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
