# `make run` and `make test` are the two README commands; both set up .venv/ first and are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_PROCESSES ?= 4

.PHONY: run test unit bench soak setup clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: Python 3.11+ is required (set PYTHON=/path/to/python3.11)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/readiness run

test: $(STAMP)
	$(BIN)/lint-imports  # the layers and no import cycle (pyproject.toml [tool.importlinter])
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadgroup  # processes: most tests wait on servers and workers

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks.replay
	$(BIN)/python -m benchmarks.load

# Slow (an hour or more at the defaults): size it with SOAK_ARGS, e.g. SOAK_ARGS="--only faults,fuzz" or "--interrupts 5".
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
