# Settee: `make run` to start the service (and the embedded engine), `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# What running needs, and what tests and lint need on top (each stamp says it is installed).
PIP_RUN := $(VENV)/.installed-run
PIP_DEV := $(VENV)/.installed-dev
NPM_RUN := node_modules/.installed-run
NPM_DEV := node_modules/.installed-dev
# No install scripts: the engine's one native module (leveldown) ships prebuilt binaries, and
# sqlite3, which PouchDB Server only loads for its --sqlite mode, would compile for a minute.
NPM_CI := npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
# Install scripts are off, so the embedded engine's fixes (patches/) are applied here, after
# every install (the package's postinstall does the same for a plain `npm ci`).
PATCH_ENGINE := node patches/apply.js && node patches/validation-once-per-request.js

.PHONY: install install-run browser run test lint bench clean

install: $(PIP_DEV) $(NPM_DEV)
install-run: $(PIP_RUN) $(NPM_RUN)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PIP_RUN): setup.cfg pyproject.toml | $(PY)
	$(PIP) -e .
	touch $@

$(PIP_DEV): setup.cfg pyproject.toml | $(PY)
	$(PIP) -e '.[test,lint]'
	touch $@ $(PIP_RUN)

$(NPM_RUN): package.json package-lock.json $(wildcard patches/*)
	$(NPM_CI) --omit=dev
	$(PATCH_ENGINE)
	touch $@

# After `make run`, add the dev dependencies to what is there rather than start again.
$(NPM_DEV): package.json package-lock.json $(wildcard patches/*)
	if [ -f $(NPM_RUN) ] && [ $(NPM_RUN) -nt package-lock.json ]; then \
	  npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error; \
	else $(NPM_CI); fi
	$(PATCH_ENGINE)
	touch $@ $(NPM_RUN)

# Headless Chromium for the browser tests (Debian's package; no browser download works here).
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

run: install-run
	$(PY) -m service serve

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(PIP_DEV)
	$(VENV)/bin/ruff check service tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
