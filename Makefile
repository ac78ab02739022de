# kstreamy — the two commands of the README are `make demo` and `make test`.
# Both create .venv/ (if missing), install the project editable with what they need (skipped
# while pyproject.toml is unchanged: a stamp keyed on its hash), and start a Kafka broker when
# KSTREAMY_BOOTSTRAP is not set (the demo through `kstreamy broker exec`, the tests through
# the kafka_bootstrap pytest fixture), which is stopped again afterwards.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
ARGS ?=
PYTEST_ARGS ?=
PYTEST_OPTS ?= --durations=10
LINT_PATHS ?= kstreamy apps tests examples scripts benchmarks

# The main demo. To switch to another demo, change this one line.
DEMO_CMD ?= $(PY) -m apps.shopping_cart.demo

PYPROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMPS := $(VENV)/.kstreamy-stamps
STAMP_TEST := $(STAMPS)/test,apps-$(PYPROJECT_HASH)
STAMP_DEMO := $(STAMPS)/apps-$(PYPROJECT_HASH)

.PHONY: help test demo lint fetch-broker bench bench-quick conformance clean distclean

help:
	@echo "make demo   the end-to-end demo through a real Kafka broker (ARGS=... passes arguments)"
	@echo "make test   every test, unit and integration (PYTEST_ARGS=... selects, e.g. tests/broker)"
	@echo "make lint   ruff check, ruff format --check, mypy"
	@echo "make clean  remove build/ and tool caches (keeps .venv and the cached Kafka jars)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "kstreamy needs Python >= 3.11; run e.g. 'make test PYTHON=python3.12'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# One stamp per set of extras; a changed pyproject.toml changes the hash and reinstalls.
$(STAMPS)/%-$(PYPROJECT_HASH): | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[$*]'
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/$*-* && touch '$@'

# Fetch Kafka's jars (once; a no-op afterwards) unless an existing cluster is configured.
fetch-broker: $(STAMP_TEST)
	@if [ -z "$${KSTREAMY_BOOTSTRAP:-}" ]; then $(BIN)/kstreamy broker fetch; fi

test: $(STAMP_TEST) fetch-broker
	@$(PY) -m pytest $(PYTEST_OPTS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

demo: $(STAMP_DEMO)
	$(BIN)/kstreamy broker exec -- $(DEMO_CMD) $(ARGS)

# All three run even when one fails, so one pass shows every problem.
lint: $(STAMP_TEST)
	@rc=0; \
	echo "ruff check"; $(BIN)/ruff check $(wildcard $(LINT_PATHS)) || rc=1; \
	echo "ruff format --check"; $(BIN)/ruff format --check $(wildcard $(LINT_PATHS)) || rc=1; \
	echo "mypy (strict, kstreamy/)"; $(BIN)/mypy || rc=1; \
	exit $$rc

# Thousands of generated scenarios through Kafka Streams' driver and ours (N=..., SEED=...).
conformance: $(STAMP_TEST)
	$(PY) -m tests.conformance.run --scenarios $${N:-6000} --seed $${SEED:-1} $(ARGS)

STAMP_BENCH := $(STAMPS)/bench-$(PYPROJECT_HASH)

# Benchmarks (not part of `make test`; ~45 min, Faust and Quix W3/W4 on capped inputs); see
# benchmarks/README.md. ARGS="--workloads W3 ..." narrows, ARGS="--budget-min 50" bounds.
bench: $(STAMP_TEST) $(STAMP_BENCH) fetch-broker
	$(PY) -m benchmarks.run --micro $(ARGS)

# W2 and W3 at 100k records, kstreamy and Java Kafka Streams only: benchmarks/results/quick.json.
bench-quick: $(STAMP_TEST) $(STAMP_BENCH) fetch-broker
	$(PY) -m benchmarks.run --quick $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis

distclean: clean
	rm -rf $(VENV)
