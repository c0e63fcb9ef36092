# Two commands do all the set-up: `make run` (the default pipeline) and `make test` (the test suite).
# Both create the pinned Python environment in .venv first if it is missing or out of date.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test test-torch lint benchmark report clean install-gpu install-jax estimate gpu-check gpu-wheels

# The library, robustcurves, installs editable (pyproject.toml): rules, scripts, tests and tools run this
# checkout's code as it is edited.
$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(BIN)/.installed
	$(BIN)/snakemake --cores all

test: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

# The cross-backend agreement tests against PyTorch (`make test` runs them against JAX). torch is not
# in requirements.txt: where no CPU build lies at hand, pip brings its CUDA build of several GB.
AGREEMENT_TESTS := tests/test_training_backends.py tests/test_measures_backends.py tests/test_attacks.py \
	tests/test_apgd.py tests/test_cw.py tests/test_clever.py
test-torch: $(BIN)/.installed
	$(BIN)/pip install --quiet torch==2.13.0
	ROBUSTCURVES_OTHER_BACKEND=torch PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -k "agree and not art" $(AGREEMENT_TESTS)

lint: $(BIN)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules tests/module/Snakefile
	$(BIN)/ruff check .

benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_attacks_metrics.py

report: $(BIN)/.installed
	$(BIN)/snakemake --cores all --report report.html

clean:
	rm -rf results resources logs .snakemake report.html

# Another build in .venv in place of requirements.txt's (docs/gpu.md): tensorflow-cpu out first, since it
# and tensorflow[and-cuda] both provide the `tensorflow` module and the JAX set has no TensorFlow; the
# stamp then keeps `make run` from putting the CPU build back.
define install_set
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip uninstall --quiet --yes tensorflow-cpu || true
	$(BIN)/pip install --quiet -r $<
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BIN)/.installed
endef

install-gpu: requirements-gpu.txt  # TensorFlow's CUDA build
	$(install_set)

install-jax: requirements-jax.txt  # JAX with its CUDA 13 plugin (compute.backend: jax)
	$(install_set)

# Projected CPU-hours per rule and wall time of CONFIG, from a finished run's benchmark files
# (benchmarks/README.md, "Estimate"); CALIBRATION_CONFIG is the config of that run.
CONFIG ?= configs/paper.yaml
CALIBRATION ?= logs/benchmarks
CALIBRATION_CONFIG ?= config.yaml
estimate: $(BIN)/.installed
	$(BIN)/python tools/estimate.py --config $(CONFIG) --calibration $(CALIBRATION) \
		--calibration-config $(CALIBRATION_CONFIG)

# The GPU check (docs/gpu.md): on a machine with an NVIDIA GPU and JAX (QUICK=1 GPU=0 for a CPU run at
# tiny sizes); gpu-wheels builds the wheels it carries to a machine without a package index.
gpu-check:
	PYTHON=$(if $(wildcard $(BIN)/python),$(BIN)/python,python3) bash tools/gpu_check.sh

gpu-wheels:
	bash tools/gpu_wheels.sh
