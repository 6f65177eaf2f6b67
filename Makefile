# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PLOOMBER_STATS_ENABLED := false
export PYTHONHASHSEED := 0

.PHONY: install run test lab bench clean

# JupyterLab on loopback; the token is generated and printed unless LAB_TOKEN is set.
LAB_PORT ?= 8888
LAB_TOKEN ?=

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Ploomber's Jupyter server extension replaces Lab's contents manager: it breaks every
	# file request with jupytext >= 1.17 and injects the pipeline's parameters and products
	# into notebooks opened by hand. Lab runs without it (README, "JupyterLab").
	$(BIN)/jupyter server extension disable --sys-prefix ploomber >/dev/null 2>&1
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ploomber build
	$(BIN)/ploomber build -e pipeline.sweep.yaml

test: install
	$(BIN)/python -m pytest

lab: install
	$(BIN)/jupyter lab --no-browser --allow-root --ip=127.0.0.1 --port=$(LAB_PORT) \
	  --ServerApp.root_dir=$(CURDIR) $(if $(LAB_TOKEN),--IdentityProvider.token=$(LAB_TOKEN))

bench: install
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_graph.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf data/* reports/* .pytest_cache
