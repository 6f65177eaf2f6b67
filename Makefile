# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PLOOMBER_STATS_ENABLED := false
export PYTHONHASHSEED := 0

.PHONY: install run test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ploomber build
	$(BIN)/ploomber build -e pipeline.sweep.yaml

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_graph.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf data/* reports/* .pytest_cache
