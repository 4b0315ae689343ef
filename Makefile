# Two entry points: `make app` (install, then open the designer on sample data) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup system app notebook test test-fast lint typecheck check bench bench-quick sample-data clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# Debian packages: Chromium (browser tests), Graphviz (SVG export), PostgreSQL (multi-worker search tests).
system:
	bash scripts/install_system_packages.sh

app: setup
	RMLP_START_SAMPLE=wine.csv $(VENV)/bin/rmlp app --headless

# JupyterLab on the example notebooks (the designer widget, live training, transfer learning, the bypass experiment).
notebook: setup
	$(VENV)/bin/jupyter lab --notebook-dir=examples

# The whole suite: lint and type check first (seconds), then every test, browser and packaging ones included.
test: setup system check
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser and not postgres and not packaging"

lint: setup
	$(PY) -m ruff check .

typecheck: setup
	$(PY) -m mypy

check: lint typecheck

bench: setup
	$(PY) benchmarks/run_all.py

bench-quick: setup
	$(PY) benchmarks/run_all.py --quick

sample-data: setup
	$(PY) scripts/make_sample_data.py

clean:
	rm -rf $(VENV) runs .pytest_cache
