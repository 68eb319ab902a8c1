# Set-up from a fresh clone is part of `make run` and `make test`: both create .venv and
# install kgrec with the DGL pins plus every plugin under plugins/, once.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))

.PHONY: setup run test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<25"
	$(PY) -m pip install -q -e ".[dgl,dev]"
	for plugin in $(PLUGIN_DIRS); do \
		$(PY) -m pip install -q --no-deps --no-build-isolation -e $$plugin || exit 1; done
	touch $@

run: setup
	$(VENV)/bin/kgrec run --augmenter diffkg --recommender lightgcn

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/lightgcn_epoch.py

clean:
	rm -rf $(VENV) runs
