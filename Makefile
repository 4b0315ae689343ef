# Two entry points: `make app` (install, then open the designer on sample data) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup system app test test-fast lint bench sample-data clean

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
	RMLP_START_SAMPLE=wine.csv $(PY) -m streamlit run designer_app/app.py --server.headless true

test: setup system
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser and not postgres"

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) benchmarks/run_all.py

sample-data: setup
	$(PY) scripts/make_sample_data.py

clean:
	rm -rf $(VENV) runs .pytest_cache
