# The two commands of README's quick start: `make run` and `make test`.
PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
# The pinned Python: python3.12 on PATH, else a pyenv install of it, else python3 if it is new enough.
PYTHON ?= $(shell for c in python$(PYTHON_VERSION) $$(pyenv root 2>/dev/null)/versions/$(PYTHON_VERSION)*/bin/python python3; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' >/dev/null 2>&1 && { echo "$$c"; break; }; done)
DEMO_ENV := DEBUG=1

.PHONY: run test install lint format messages bench


$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) (or newer) is needed: install it, or set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-test.txt
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(DEMO_ENV) $(PY) manage.py migrate --no-input
	$(DEMO_ENV) $(PY) manage.py seed_demo
	@echo "Serving the demo at http://127.0.0.1:8000/ (Ctrl-C to stop)"
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-test
	$(PY) -m pytest

# The hot paths against same-run baselines on PostgreSQL + Redis (bench/run.py; docs/performance.md).
# BENCH_SCALE=small (50 000 cases, ~3 min), default 1 000 000, large 10 000 000.
bench: $(VENV)/.installed-run
	$(PY) -m bench

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# After changing a page or message: refresh the Chinese catalogue, translate what is new, compile.
messages: $(VENV)/.installed-run
	$(DEMO_ENV) $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=staticfiles
	$(DEMO_ENV) $(PY) manage.py compilemessages -l zh_Hans
