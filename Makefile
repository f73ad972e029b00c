# Settee: `make run` to start the service (and the embedded engine), `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install browser run test lint bench clean

install: $(PIP_STAMP) $(NPM_STAMP)

$(PIP_STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $@

$(NPM_STAMP): package.json package-lock.json patches/pouchdb-validation.js
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the browser tests (Debian's package; no browser download works here).
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

run: install
	$(PY) -m service serve

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
