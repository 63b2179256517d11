# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test browser-test bench bench-env clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

examples/demo/model.h5 examples/demo/data.npz: $(STAMP) examples/make_example.py
	$(BIN)/python examples/make_example.py --out examples/demo

demo: examples/demo/model.h5
	$(BIN)/interpret run examples/demo/model.h5 examples/demo/data.npz --out examples/demo/out --force
	@echo "Report: $(CURDIR)/examples/demo/out/report.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf examples/demo .pytest_cache
