# Sextant: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test suite test-fast prereqs lint typecheck pytest audit demo bench clean

# Bytecode caches on (some shells set PYTHONDONTWRITEBYTECODE): without them every pytest process and
# xdist worker compiles the project and rewrites every test module's asserts again (about 5 s each).
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## make run [PORT=8080]: embedded mode (SQLite under var/), demo organization, http://127.0.0.1:$(PORT)
PORT ?= 8000
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --if-empty
	$(PY) manage.py ensure_admin
	$(PY) manage.py runserver --insecure 127.0.0.1:$(PORT)

## make test: system prerequisites (installed where it can), lint, type-check, the whole test suite on both
## cores (pytest-xdist; each test file with real Celery workers has a Redis database of its own: tests/redis_dbs.py;
## --dist loadgroup hands out one test at a time, so the longest, sorted first, go to both workers: plain
## --dist load hands each worker a block of consecutive tests, all the long ones to one)
## (SKIP=realdata, or SKIP="realdata or browser", leaves kinds out; PYTEST_ARGS goes to pytest)
test: $(STAMP) prereqs lint typecheck suite

SKIP ?=
suite: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(if $(SKIP),-m "not ($(SKIP))",) $(PYTEST_ARGS)

prereqs:
	@bash tools/test_prereqs.sh

## make test-fast: the developer loop: everything but browser, worker, realdata, statistical, slow and
## heavy tests (tests/conftest.py KINDS), on both cores; make test still runs all of them
FAST := not (browser or worker or realdata or statistical or slow or heavy)
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -n 2 -m "$(FAST)" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/vulture metrics connectors tools/vulture_whitelist.py --exclude "*/migrations/*" --min-confidence 60

typecheck: $(STAMP)
	$(VENV)/bin/mypy connectors metrics/analytics

pytest: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make audit: the installed packages against PyPI's vulnerability data (CI runs it after make test)
audit: $(STAMP)
	$(PY) -m tools.audit_dependencies

bench: $(STAMP)
	$(PY) bench/import_git.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
