# `make run` and `make test` are the two README commands; both set up .venv/ first and are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_PROCESSES ?= 4

.PHONY: run test unit bench soak setup clean promtool

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: Python 3.11+ is required (set PYTHON=/path/to/python3.11)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# alerts.fire proves the alert rules with promtool: a root user on Debian/Ubuntu gets it installed the way .ci/run
# does; anyone else gets the one line that installs it (the run goes on and marks alerts.fire SKIPPED).
promtool:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing promtool (apt-get install prometheus) so the run can prove the alerts fire"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
	      || echo "note: installing prometheus failed; alerts.fire will be SKIPPED"; \
	  else \
	    echo "note: promtool not found, alerts.fire will be SKIPPED (install it: sudo apt-get install prometheus, or https://prometheus.io/download/)"; \
	  fi; }

run: $(STAMP) promtool
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
