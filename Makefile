# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test browser-test bench bench-env bench-modisco-env clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# modisco (2.5.2) and modisco-lite install the same modiscolite/ files: remove the old one first.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip uninstall -q -y modisco
	$(BIN)/pip install -q -e ".[test]"
	# numba's kernels (ours, TF-MoDISco's, the hit caller's) compiled into the cache once here, so the
	# first run is not a cold one (about 30 CPU s)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m interpret.jit attribution modisco hits >/dev/null
	touch $(STAMP)

install: $(STAMP)

examples/demo/model.h5 examples/demo/data.npz: $(STAMP) examples/make_example.py
	$(BIN)/python examples/make_example.py --out examples/demo

demo: examples/demo/model.h5
	$(BIN)/interpret run examples/demo/model.h5 examples/demo/data.npz --out examples/demo/out --force

# Two workers (one per CI core), each test file on one worker so its fixtures are built once.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 2 --dist loadfile tests

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
	$(BENCH_BIN)/pip install -q -e . "torch==2.13.0" tangermeme captum scikit-learn psutil "memelite==0.5.0" "finemo==0.41"
	$(BENCH_BIN)/python -c "import torch, tangermeme, captum, finemo; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(BENCH_STAMP)

bench-env: $(BENCH_STAMP)

# modisco 2.5.2 in place of modisco-lite 3.0.0, for the package comparison (both install the import
# modiscolite, so they cannot share an environment).
ENV252 := .venv-modisco252
ENV252_STAMP := $(ENV252)/.installed

$(ENV252_STAMP): pyproject.toml
	$(PY) -m venv $(ENV252)
	$(ENV252)/bin/pip install -q --upgrade pip
	$(ENV252)/bin/pip install -q -e . psutil
	$(ENV252)/bin/pip uninstall -q -y modisco-lite
	# forced: in an older copy of this environment modisco 2.5.2 counts as installed after the uninstall
	# above has removed the modiscolite files the two packages share
	$(ENV252)/bin/pip install -q --force-reinstall --no-deps "modisco==2.5.2"
	$(ENV252)/bin/python -c "import modiscolite, importlib.metadata as md; assert md.version('modisco') == '2.5.2'"
	touch $(ENV252_STAMP)

bench-modisco-env: $(ENV252_STAMP)

# Regenerates benchmarks/RESULTS.md: hours on 2 cores, run it on a quiet machine (timed section by section,
# on busy cores, 2026-12-01/02: usage 47 min, scale 83 min, naming 38 min, tomtom_speed 19 min, the rest
# under 20 min each but modisco_packages, about 50 min on a quiet machine, 20 of them modisco 2.5.2 on
# 10,000 x 101 bp reaching its timeout; 2026-12-06: e2e 68 min, 60 of them its 10,000 x 1 kb row at the defaults
# reaching its one-hour timeout in TF-MoDISco, screen 38 min, hits 15 min, outputs 6 min, grammar 2 min;
# each section states its own time). The million-sequence run is separate:
# `benchmarks/scale.py --n 1000000 --name scale_million` (about 1.5 h).
#
# Resumable: each finished section leaves a stamp under benchmarks/work/bench-<key>/, the key a hash of
# the code the numbers come from (the package, the benchmark scripts, pyproject.toml). `make bench` after
# an interruption runs only the sections without a stamp; after any change to that code it starts over.
# The issue-#14 goal sections (attribution speed, end to end, TF-MoDISco) run first.
BENCH_KEY := $(shell find interpret benchmarks/*.py pyproject.toml -type f -not -path '*__pycache__*' | sort \
	| xargs cat | sha1sum | cut -c1-12)
BENCH_DONE := benchmarks/work/bench-$(BENCH_KEY)
BENCH_SECTIONS := speed e2e modisco_settings modisco_packages recovery trimming speed_peers logo_speed screen \
	naming tomtom_speed usage scale hits grammar outputs
BENCH_ARGS_e2e := --keep
BENCH_PY_speed_peers := $(BENCH_BIN)/python
BENCH_PY_tomtom_speed := $(BENCH_BIN)/python
BENCH_PY_hits := $(BENCH_BIN)/python

bench: $(addprefix $(BENCH_DONE)/,$(BENCH_SECTIONS))
	$(BIN)/python benchmarks/make_results.py

$(BENCH_DONE)/%: | $(STAMP) $(BENCH_STAMP) $(ENV252_STAMP)
	@mkdir -p $(BENCH_DONE)
	@echo "== benchmarks/$*.py (stamps in $(BENCH_DONE): a later make bench skips finished sections)"
	$(or $(BENCH_PY_$*),$(BIN)/python) benchmarks/$*.py $(BENCH_ARGS_$*)
	touch $@

# Headless-Chromium check of the report (not part of `make test`): installs Debian's chromium
# if missing. Without REPORT=path/report.html it checks the layout stress case (512 filters, 60
# motifs, one 50 bp wide): no sideways scroll at 1,280 and 1,024 px, row heights printed.
browser-test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)
	$(BIN)/python tests/browser_check.py $(REPORT)
