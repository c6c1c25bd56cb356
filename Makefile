# zkstatesync: `make help` lists the targets. Options: CIRCUIT=, PRESET=, INPUT=, CHAIN=.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/zkstatesync
CIRCUIT ?= state_sync
PRESET  ?= test
CHAIN   ?= pyevm
DEMO_PRESET ?= test
OUT     ?= build/proofs/$(CIRCUIT)-$(PRESET)
INPUT   ?=

PY_STAMP  := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: help install compile setup prove verify solidity deploy devnet demo demo-in-process test test-all test-js bench lint typecheck check clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  options: CIRCUIT=$(CIRCUIT) PRESET=$(PRESET) CHAIN=$(CHAIN) (see circuits/circuits.toml)"

install: $(PY_STAMP) $(NPM_STAMP) ## Install Python (into .venv) and npm dependencies; cheap when done

$(PY_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

compile: install ## Compile CIRCUIT at PRESET (cached by content hash under build/)
	$(CLI) compile $(CIRCUIT) --preset $(PRESET)

setup: install ## Make Groth16 keys for CIRCUIT at PRESET (local ptau + phase 2; cached)
	$(CLI) setup $(CIRCUIT) --preset $(PRESET)

prove: install ## Prove CIRCUIT at PRESET (INPUT=inputs.json, default: the sample rootchain; OUT=dir)
	$(CLI) prove $(CIRCUIT) --preset $(PRESET) $(if $(INPUT),--input $(INPUT)) --out $(OUT) --replace

verify: install ## Verify the proof in OUT (default: the last `make prove`) against the key its record names
	$(CLI) verify $(OUT)

solidity: install ## Export the generated verifiers for PRESET and compile every contract (prints paths)
	$(CLI) solidity --preset $(PRESET)

deploy: install ## Deploy both chains' contracts on fresh CHAIN=pyevm|anvil chains (PRESET's verifiers)
	$(CLI) deploy --chain $(CHAIN) --preset $(PRESET)

devnet: install ## Two anvil chains, the contracts, 4 validators and a relayer as processes; deposits, live (Ctrl-C stops)
	$(CLI) devnet --preset $(PRESET)

bench: install ## Run the benchmarks (gas on CHAIN): writes bench/results.json and prints tables
	$(PY) -m bench --chain $(CHAIN)

demo: install ## The bridge as processes: deposits, faults live and recovered, attacks refused (DEMO_PRESET=test|default)
	$(CLI) demo --preset $(DEMO_PRESET)

demo-in-process: install ## The one-process demo: a simulated committee, proofs, attacks (CHAIN=pyevm|anvil)
	$(CLI) demo --in-process --chain $(CHAIN) --preset $(DEMO_PRESET)

test: install test-js ## Run the default test suite (slow tests excluded; JS unit tests first)
	$(PY) -m pytest -q

test-all: install test-js ## Run every test, slow ones included
	$(PY) -m pytest -q -m ''

test-js: install ## node --test: the setup's field and curve kernels against ffjavascript
	NODE_PATH=node_modules node --test tests/js/unit/

PY_SOURCES := statesync prover verifier bridge tests bench

lint: install ## ruff check, ruff format --check, and node --check over the JS
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m ruff format --check $(PY_SOURCES)
	@for f in prover/js/*.js bridge/chain/js/*.js tests/js/*.js; do node --check $$f || exit 1; done

typecheck: install ## mypy --strict over the packages, bench/ and tests/
	$(PY) -m mypy

check: lint typecheck ## Everything CI checks besides the tests: lint, format, types

clean: ## Delete build artefacts (build/); keeps installed dependencies
	rm -rf build .pytest_cache .mypy_cache
