# make lab  - create .venv, install, build the demo data, open the incident runbook
# make test - create .venv, install, lint, run the whole suite (notebooks included)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO := data/demo/spans.parquet
PYTEST_ARGS ?=

.PHONY: lab test install demo lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(DEMO)

$(DEMO): $(STAMP)
	$(PY) -m llmdrift.datasets.demo --out data/demo

lab: $(STAMP) $(DEMO)
	$(VENV)/bin/jupyter lab notebooks/01_investigate_incident.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check llmdrift tests benchmarks
	$(VENV)/bin/ruff format --check llmdrift tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format llmdrift tests benchmarks
	$(VENV)/bin/ruff check --fix llmdrift tests benchmarks

test: lint
	$(PY) -m pytest -n 2 --timeout=900 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache
