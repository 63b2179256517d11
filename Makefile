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

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf examples/demo .pytest_cache

# ---- benchmarks (benchmarks/RESULTS.md); peers live in their own environment, never in the package's
BENCH_VENV := benchmarks/.venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed

# torch==2.13.0 first and pinned in every later install, so nothing can pull a newer (CUDA) torch.
$(BENCH_STAMP): pyproject.toml
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install -q --upgrade pip
	$(BENCH_BIN)/pip install -q "torch==2.13.0"
	$(BENCH_BIN)/pip install -q -e . "torch==2.13.0" tangermeme captum scikit-learn psutil
	$(BENCH_BIN)/python -c "import torch, tangermeme, captum; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(BENCH_STAMP)

bench-env: $(BENCH_STAMP)

# Regenerates benchmarks/RESULTS.md (25-27 min on 2 cores, bench-env included, 2026-11-25; run on a quiet machine).
bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/recovery.py
	$(BENCH_BIN)/python benchmarks/speed_peers.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/logo_speed.py
	$(BIN)/python benchmarks/e2e.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/make_results.py

# Headless-Chromium check of the report (not part of `make test`): installs Debian's chromium
# if missing; REPORT=path/report.html to check a real report, BIG=1 for a 512-filter synthetic one.
browser-test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)
	$(BIN)/python tests/browser_check.py $(REPORT) $(if $(BIG),--big,)
