# The README's two commands: `make run` (the main job end to end) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export COMMERCEPULSE_HOME ?= $(CURDIR)/.commercepulse
export DAGSTER_HOME ?= $(COMMERCEPULSE_HOME)/dagster
# Dagster's own knobs for range runs (see commercepulse/instance/home.py): batched materializations,
# one planned event per asset of a range run. The UI process writes the planned events of its runs.
export DAGSTER_EVENT_BATCH_SIZE ?= 1000
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= 1

.PHONY: install run lint test test-slow ui ui-test bench bench-all bench-year bench-new-day bench-scale bench-scale-30 bench-soak clean stop-mongo

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PY=/path/to/python3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/commercepulse run

lint: $(STAMP)
	$(BIN)/ruff check commercepulse commercepulse_tests benchmarks
	$(BIN)/ruff format --check commercepulse commercepulse_tests benchmarks

test: $(STAMP) lint
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

ui-test: $(STAMP)
	$(BIN)/pytest -q -m ui -s

ui: $(STAMP)
	@$(BIN)/commercepulse instance prepare >/dev/null
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_platform
	$(BIN)/python -m benchmarks.bench_staging

bench-all: $(STAMP)
	$(BIN)/python -m benchmarks.bench_platform --all

bench-new-day: $(STAMP)
	$(BIN)/python -m benchmarks.bench_new_day 3

# worlds of growing volume from fresh state, beside the write floor (benchmarks/bench_scale.py)
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.bench_scale 30x2k 30x20k year

bench-scale-30: $(STAMP)
	$(BIN)/python -m benchmarks.bench_scale 30x2k 30x20k

# 20 minutes of dagster dev under a new day every 30 s and two analyst backfills
bench-soak: $(STAMP)
	$(BIN)/python -m benchmarks.bench_soak --minutes 20 --interval 30

bench-year: $(STAMP)
	$(BIN)/python -m benchmarks.bench_backfill 30
	$(BIN)/python -m benchmarks.bench_backfill 365

stop-mongo: $(STAMP)
	$(BIN)/commercepulse mongo stop
	$(BIN)/commercepulse instance stop

clean: stop-mongo
	rm -rf $(COMMERCEPULSE_HOME) reports
