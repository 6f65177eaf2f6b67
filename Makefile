# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PLOOMBER_STATS_ENABLED := false
export PYTHONHASHSEED := 0

.PHONY: install run test lint test-browser lab book bench clean

# JupyterLab on loopback; the token is generated and printed unless LAB_TOKEN is set.
LAB_PORT ?= 8888
LAB_TOKEN ?=
# Debian's Chromium for the browser check (Playwright drives it; it downloads no browser)
CHROMIUM := /usr/bin/chromium
# the optional dependency groups of pyproject.toml (README, "Installing the package")
EXTRAS := notebooks,deep,dask,service,dev,browser,book
BOOK_SCREENSHOT := reports/screenshots/book.png

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# every extra: make test runs the notebooks, the deep models, Dask, the service, the
	# browser (Playwright) and book (Jupyter Book) tests too
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	# Ploomber's Jupyter server extension replaces Lab's contents manager: it breaks every
	# file request with jupytext >= 1.17 and injects the pipeline's parameters and products
	# into notebooks opened by hand. Lab runs without it (README, "JupyterLab").
	$(BIN)/jupyter server extension disable --sys-prefix ploomber >/dev/null 2>&1
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ploomber build
	$(BIN)/ploomber build -e pipeline.sweep.yaml

test: lint
	$(BIN)/python -m pytest

# ruff (pyproject.toml, [tool.ruff]): pyflakes, pycodestyle, import order and the format
lint: install
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/ruff format --check workbench tests benchmarks

# JupyterLab in headless Chromium: opens notebook 01, runs all cells, saves a screenshot.
# Installs Debian's chromium when it is missing (apt-get, as root).
test-browser: install
	test -x $(CHROMIUM) || { test "$$(id -u)" = 0 || \
	  { echo "test-browser: no $(CHROMIUM); as root: apt-get install chromium" >&2; exit 2; }; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(BIN)/python -m pytest tests/browser

lab: install
	$(BIN)/jupyter lab --no-browser --allow-root --ip=127.0.0.1 --port=$(LAB_PORT) \
	  --ServerApp.root_dir=$(CURDIR) $(if $(LAB_TOKEN),--IdentityProvider.token=$(LAB_TOKEN))

# The tutorial book: the pipeline's notebooks, executed, as a static site in build/book/_build/html
# (README, "Tutorial book"); with Chromium here it also refreshes the README's screenshot.
book: install
	$(BIN)/python -m workbench book $(if $(wildcard $(CHROMIUM)),--screenshot $(BOOK_SCREENSHOT))

bench: install
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_graph.py
	$(BIN)/python benchmarks/bench_models.py

clean:  # generated data, reports and builds; the tracked screenshots stay
	rm -rf data/* build .pytest_cache
	find reports -mindepth 1 -maxdepth 1 ! -name screenshots ! -name .gitkeep -exec rm -rf {} +
