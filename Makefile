# Two commands do everything on a fresh machine:
#   make lab   - install, build the JS, open JupyterLab on examples/
#   make test  - install and run every test (Vitest, pytest incl. browser tests and the example notebooks)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export PYTHONHASHSEED ?= 0

JS_SOURCES := $(shell find js -type f -not -name '*.test.ts') package.json package-lock.json tsconfig.json
JS_BUILT := slamdunk_lab/static/canvas.js

.PHONY: install js lab test test-js test-python bench clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(JS_BUILT): node_modules/.installed $(JS_SOURCES)
	npm run build
	touch $@

js: $(JS_BUILT)

# The editable install copies the built JupyterLab extension into the venv, so it comes after the JS build.
$(VENV)/.installed: pyproject.toml $(JS_BUILT)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	touch $@

# Node takes a script's module type from the nearest package.json: ours says "type": "module", which breaks the
# CommonJS yarn.js that JupyterLab runs from the venv at every start ("Fail to get yarn configuration").
$(VENV)/package.json: $(VENV)/.installed
	echo '{"type": "commonjs"}' > $@

install: $(VENV)/.installed $(VENV)/package.json

# JupyterLab on examples/ (--allow-root when run as root, as in containers); more flags with ARGS, e.g.
#   make lab ARGS="--port 8899 --no-browser"
# Unlike the tests, it may use the Hugging Face hub (named data sets other than tiny_shakespeare, tokenizers).
lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=examples $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

test-js: node_modules/.installed
	npm run typecheck
	npm test

# the tests never ask the Hugging Face hub (an online lookup otherwise hangs ~25 s without internet)
test test-python bench: export HF_HUB_OFFLINE ?= 1

test-python: install
	$(PY) -m pytest

test: install test-js test-python

bench: install
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) node_modules slamdunk_lab/static slamdunk_lab/labextension build .pytest_cache
