# The two commands of README.md: `make run` and `make test`. Both set up the
# project-local virtual environment (.venv) first, from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_FLOWS ?= flows/orders.flow flows/hello.flow
PORT ?= 8080

.PHONY: run test lint-flows check docs bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/flowengine run $(RUN_FLOWS) --port $(PORT)

test: $(STAMP)
	bash scripts/ensure-brokers.sh
	bash scripts/ensure-tools.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/flowengine lint flows/
	$(BIN)/flowengine fmt --check flows/
	$(BIN)/flowengine test flows/
	$(BIN)/pytest

docs: $(STAMP)
	$(BIN)/flowengine docs --output docs/nodes.md

# The benchmark (docs/performance.md); not part of `make test`. Uses ../shared/bench-peers
# when it is there. `make bench BENCH_ARGS="--quick --rounds 1"` for a smoke run. The brokers are
# started as for the tests; the programs the scenarios drive (wrk, Node-RED's npm) are installed
# or named before anything runs (bench/preflight.py).
BENCH_ARGS ?= --rounds 3
bench: $(STAMP)
	$(BIN)/python -c 'import psutil' 2>/dev/null || $(BIN)/pip install -q -e '.[dev,bench]'
	bash scripts/ensure-brokers.sh
	$(BIN)/python -m bench $(BENCH_ARGS)
