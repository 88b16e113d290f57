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

.PHONY: install js lab test test-js test-python test-lowest bench clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(JS_BUILT): node_modules/.installed $(JS_SOURCES)
	npm run build
	touch $@

js: $(JS_BUILT)

# The editable install copies the built JupyterLab extension into the venv, so it comes after the JS build.
# Exact versions from constraints.txt (the package itself declares ranges); torch is pinned to its CPU build.
$(VENV)/.installed: pyproject.toml constraints.txt $(JS_BUILT)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[test,serve]"
	touch $@

# Node takes a script's module type from the nearest package.json: ours says "type": "module", which breaks the
# CommonJS yarn.js that JupyterLab runs from the venv at every start ("Fail to get yarn configuration").
$(VENV)/package.json: $(VENV)/.installed
	echo '{"type": "commonjs"}' > $@

install: $(VENV)/.installed $(VENV)/package.json

# A second, small venv with the oldest JupyterLab we support (4.0.x), for tests/browser/test_lab_versions.py.
LAB_OLDEST ?= .venv-lab-oldest
$(LAB_OLDEST)/.installed: constraints-lab-oldest.txt
	test -x $(LAB_OLDEST)/bin/python || $(PYTHON) -m venv $(LAB_OLDEST)
	$(LAB_OLDEST)/bin/python -m pip install -q -c constraints-lab-oldest.txt "jupyterlab==4.0.*" jupyterlab_widgets \
		anywidget
	touch $@

# A venv with the lowest version of every requirement (constraints-lowest.txt) and the tests that cover them.
LOWEST ?= .venv-lowest
LOWEST_TESTS := tests/test_data.py tests/test_tokenizers.py tests/test_tokcache.py tests/test_io.py \
	tests/test_model.py tests/test_compat.py tests/test_generation.py tests/test_checkpoint.py tests/test_hostile.py \
	tests/test_cli.py tests/test_training_mlflow.py tests/test_widgets_canvas.py
$(LOWEST)/.installed: pyproject.toml constraints-lowest.txt $(JS_BUILT)
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install -q -c constraints-lowest.txt -e . pytest hypothesis jsonschema
	touch $@

test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider $(LOWEST_TESTS)

# JupyterLab on examples/ (--allow-root when run as root, as in containers); more flags with ARGS, e.g.
#   make lab ARGS="--port 8899 --no-browser"
# Unlike the tests, it may use the Hugging Face hub (named data sets other than tiny_shakespeare, tokenizers).
lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=examples $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

test-js: node_modules/.installed
	npm run typecheck
	npm test

# the tests never ask the Hugging Face hub (an online lookup otherwise hangs ~25 s without internet)
test test-python test-lowest bench: export HF_HUB_OFFLINE ?= 1

test-python: install $(LAB_OLDEST)/.installed
	SLAMDUNK_OLDEST_LAB_PYTHON=$(abspath $(LAB_OLDEST))/bin/python $(PY) -m pytest

test: install test-js test-python test-lowest

bench: install
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) $(LAB_OLDEST) $(LOWEST) node_modules slamdunk_lab/static slamdunk_lab/labextension build .pytest_cache
