# Two commands do all the set-up: `make run` (the default pipeline) and `make test` (the test suite).
# Both create the pinned Python environment in .venv first if it is missing or out of date.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint benchmark report clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/snakemake --cores all

test: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .

benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_attacks_metrics.py

report: $(BIN)/.installed
	$(BIN)/snakemake --cores all --report report.html

clean:
	rm -rf results resources logs .snakemake report.html
