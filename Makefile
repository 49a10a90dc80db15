# Set-up lives here so that a fresh clone needs one command for each job.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BENCHMARKS := bench/render.py bench/mirror_throughput.py \
	bench/badge_throughput.py bench/client_latency.py

.PHONY: run test lint bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.py $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]' ruff
	touch $@

## run: install into .venv and run a mirror on port 8080 (or $PORT)
run: $(VENV)/.installed
	$(BIN)/dockerhub-mirror serve

## test: install everything the tests need, lint, run the whole suite
test: $(VENV)/.installed
	sh tools/ensure-browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .

## bench: the benchmarks under bench/ (not part of the test suite)
bench: $(VENV)/.installed
	$(BIN)/pip install --quiet pybadges anybadge
	for script in $(BENCHMARKS); do $(BIN)/python $$script || exit 1; done

## demo: a replay, a registry and three mirrors on loopback; Ctrl-C stops
demo: $(VENV)/.installed
	$(BIN)/python tools/demo

clean:
	rm -rf $(VENV) build dist *.egg-info
