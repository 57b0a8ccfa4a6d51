# make lab  - create .venv, install, build the demo data, open the incident runbook
# make test - create .venv, install, lint, run the whole suite (notebooks included)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO := data/demo/spans.parquet
PYTEST_ARGS ?=
# JupyterLab refuses to run as root (containers, CI boxes) without --allow-root;
# kept apart from JUPYTER_ARGS so that `make lab JUPYTER_ARGS=...` keeps it
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
JUPYTER_ARGS ?=

.PHONY: lab test install demo lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(DEMO)

$(DEMO): $(STAMP) llmdrift/datasets/demo.py
	$(PY) -m llmdrift.datasets.demo --out data/demo

lab: $(STAMP) $(DEMO)
	$(VENV)/bin/jupyter lab $(ROOT_ARGS) $(JUPYTER_ARGS) notebooks/01_investigate_incident.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check llmdrift tests benchmarks
	$(VENV)/bin/ruff format --check llmdrift tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format llmdrift tests benchmarks
	$(VENV)/bin/ruff check --fix llmdrift tests benchmarks

test: lint
	$(PY) -m pytest -n 2 --timeout=900 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data/demo .pytest_cache
