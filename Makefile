# The two commands a fresh clone needs:
#   make lab   - set up .venv and open JupyterLab on the quickstart notebook
#   make test  - set up .venv with the dev extra and run the whole test suite
# and a third way in:
#   make voila - serve the app alone (notebooks/app.ipynb: no code, no prose) with Voila
# All are idempotent: the environment is (re)installed only when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab voila test install install-dev lint clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed; found " + sys.version.split()[0] + ": set PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	$(BIN)/python -c 'import workbench'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) -e '.[dev]'
	$(BIN)/python -c 'import pytest, nbmake, hypothesis'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

lab: install
	$(BIN)/jupyter lab notebooks/00_quickstart.ipynb $(LAB_ARGS)

voila: install
	$(BIN)/voila notebooks/app.ipynb $(VOILA_ARGS)

test: install-dev
	$(BIN)/ruff check workbench tests notebooks benchmarks conftest.py
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check workbench tests notebooks benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
