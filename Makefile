# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast fuzz lint format bench calibration validation docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c 'import sim.model.kernels; sim.model.kernels.compile_all()'  # numba kernels, cached
	touch $(STAMP)

# The flagship comparison: four strategies at equal budget on the seed county, under uncertain
# shocks, paired seeds; then the comparison table, figures and report. A batch with failed runs
# exits 1: the report still runs and says which failed; bad input (2) or Ctrl-C (130) stop here.
demo: $(STAMP)
	$(BIN)/povsim batch experiments/transfusion_vs_blood_making.toml --out results/transfusion_vs_blood_making --force || [ $$? -eq 1 ]
	$(BIN)/povsim report results/transfusion_vs_blood_making
	@echo "report: $(CURDIR)/results/transfusion_vs_blood_making/report.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest -q -n 2

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

# The fuzz suite with many more examples than `make test` gives it (docs/reliability.md).
fuzz: $(STAMP)
	POVSIM_FUZZ=1 $(BIN)/python -m pytest -q -n 2 tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python benchmarks/batch_bench.py --out benchmarks/results/batch.json
	$(BIN)/python benchmarks/strategies.py --set programme.after_phase_out=cliff --out benchmarks/results/strategies.json
	$(BIN)/python benchmarks/bench.py --out benchmarks/results/latest.json
	$(BIN)/python benchmarks/roster_bench.py --out benchmarks/results/roster.json

calibration: $(STAMP)
	$(BIN)/python -m sim.analysis.calibration --out docs/calibration.md

validation: $(STAMP)
	$(BIN)/python -m sim.analysis.validation --out docs/validation.md

docs: $(STAMP)
	$(BIN)/python -m sim.analysis.docs_tables

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
