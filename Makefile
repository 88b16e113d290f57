# Two commands do everything on a fresh machine:
#   make lab   - install, build the JS, open JupyterLab on examples/
#   make test  - install and run every test (pytest incl. browser tests, Vitest, example notebooks)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: install lab test test-python bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=examples

test: install
	$(PY) -m pytest

bench: install
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) node_modules slamdunk_lab/static slamdunk_lab/labextension .pytest_cache
