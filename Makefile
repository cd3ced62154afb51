# The two commands a newcomer needs: `make demo` and `make test`. Everything else
# (the virtual environment, its packages) is built from the project's own files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# python3.13 is the Lambda runtime; the dev environment and `sam build` use the same version.
PYTHON_RUNTIME ?= $(shell local/bin/find-python 3.13)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The local stack never reaches AWS, so no profile or region from the machine applies.
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml layers/core/requirements.txt
	@test -n "$(PYTHON_RUNTIME)" || { echo "Python 3.13 is required"; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON_RUNTIME) (install log: $(VENV)/install.log)"
	@test -x $(PY) || $(PYTHON_RUNTIME) -m venv $(VENV)
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "pip install failed; see $(VENV)/install.log"; exit 1; }
	@$(PY) -c 'import ideogram_assets, ideogram_assets_cli, local_stack, moto, samcli'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

.PHONY: venv
venv: $(STAMP) ## create the virtual environment (done by every other target)

.PHONY: demo
demo: $(STAMP) ## run the main job on the embedded local stack and show the result
	$(PY) -m local_stack demo

.PHONY: up
up: $(STAMP) ## start the local stack in the foreground (Ctrl-C stops it); PARAMS="Key=Value ..." sets template parameters
	$(PY) -m local_stack up $(if $(PARAMS),--parameter-overrides $(PARAMS))

.PHONY: test
test: $(STAMP) ## run the whole test suite (lint, types, unit, contract, integration, build)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 3 --dist loadfile

.PHONY: lint
lint: $(STAMP) ## ruff and mypy only
	$(BIN)/ruff check .
	$(BIN)/mypy

.PHONY: format
format: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: build
build: $(STAMP) ## sam validate --lint and sam build (offline, no Docker)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam validate --lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build

.PHONY: bench
bench: $(STAMP) ## run the benchmarks, results in docs/BENCHMARKS.md (one: BENCH=cold_start, ROUNDS=25)
	$(PY) -m bench --write $(if $(ROUNDS),--rounds $(ROUNDS)) $(BENCH)

.PHONY: clean
clean: ## remove build outputs and local state (keeps the virtual environment)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
