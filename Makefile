# `make demo` and `make test` work on a fresh clone: both create the virtual environment first.
SHELL := /bin/bash
# Python 3.13: pyenv's (wherever its root is), else one on PATH.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements/dev.lock | cut -d' ' -f1)
PROJECT_STAMP := $(VENV)/.project-$(shell cksum pyproject.toml | cut -d' ' -f1)
# checkov pins an older boto3 than aws-sam-cli: it gets a virtual environment of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum requirements/checkov.lock | cut -d' ' -f1)
export SAM_CLI_TELEMETRY := 0
export BC_SKIP_MAPPING := TRUE
# Each Python process reads the bytecode the first one wrote. Where the machine sets PYTHONDONTWRITEBYTECODE (this
# project's machine image does), every process compiled every module it imports again: about a third of the CPU
# of an `aws` or `mlops` command, and over a minute of `make test`'s.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: venv lint scan typecheck check-config build test pytest unit integration e2e property demo replay bench clean up diagrams

$(STAMP): requirements/dev.lock
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required: install it (e.g. pyenv install 3.13) or pass PYTHON=/path/to/python3.13"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	# uv (pinned in the lock) installs the lock in seconds; pip took over a minute, mostly compiling the bytecode
	# of modules no command imports (Python writes it on first import instead).
	$(BIN)/pip install --quiet --disable-pip-version-check $$(grep '^uv==' requirements/dev.lock)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.lock
	# The checkout and the layer on the venv's path: `python -m localcloud` works from any directory.
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/layers/common" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mlops-control-plane.pth"
	touch $@

# The project itself, editable, for its console script `mlops` (its dependencies are in the lock already).
$(PROJECT_STAMP): $(STAMP) pyproject.toml
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP) $(PROJECT_STAMP)

$(CHECKOV_STAMP): requirements/checkov.lock $(STAMP)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python -r requirements/checkov.lock
	touch $@

check-config: venv
	$(BIN)/python scripts/check_config.py
	$(BIN)/python scripts/export_schemas.py --check
	$(BIN)/python scripts/service_models.py --check

# cfn-lint checks template.yaml inside `sam validate --lint` (cfnlint.api, the same rules and version), and the ASL
# definitions inside scripts/lint_asl.py: each is read once.
lint: venv check-config
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/statelint statemachines/*.asl.json
	$(BIN)/python scripts/lint_asl.py
	$(BIN)/sam validate --lint

# checkov on the SAM template and on its CloudFormation translation (IAM roles, state machines, event
# source mappings); a failed check fails the build unless the resource's Metadata skips it with a reason.
scan: venv $(CHECKOV_STAMP)
	scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	$(BIN)/python scripts/translate_template.py --output "$$scratch/template.json" && \
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f template.yaml -f "$$scratch/template.json"

typecheck: venv
	$(BIN)/mypy

# sam build needs python3.13 on PATH (the venv's); it downloads the layer's arm64 wheels.
build: venv check-config
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build --parallel --cached

# Tests run in parallel worker processes (pytest-xdist): each local cloud patches moto in its own process.
PYTEST_WORKERS ?= auto

unit: venv
	$(BIN)/pytest tests/unit -q -n $(PYTEST_WORKERS)

integration: venv
	$(BIN)/pytest tests/integration -q -n $(PYTEST_WORKERS)

e2e: venv
	$(BIN)/pytest tests/e2e -q -n $(PYTEST_WORKERS)

# The event-stream properties with thousands of examples each (make test runs a few hundred).
property: venv
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest tests/unit/test_event_streams.py -q

pytest: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS)

# The static checks, the build and the tests side by side: the checks are single-process chains and the build waits
# on the network, so the tests' workers fill both cores meanwhile. Each target's output is printed when it ends.
test: venv
	$(MAKE) --no-print-directory -j 5 --output-sync=target lint scan typecheck build pytest

demo: venv
	$(BIN)/python -m localcloud demo

# The local cloud served on http://127.0.0.1:4566 until Ctrl-C; `make up SPEED=600 PORT=4567` to change either.
SPEED ?= 60
PORT ?= 4566
up: venv
	$(BIN)/python -m localcloud serve --port $(PORT) --speed $(SPEED)

# make replay FILES="events/s3-dataset-churn-bulk.json events/pipeline-execution-failed.json"
replay: venv
	$(BIN)/python -m localcloud replay $(FILES)

# The Mermaid flowcharts of statemachines/*.asl.json in README.md (tests/unit/test_diagrams.py checks them).
diagrams: venv
	$(BIN)/python scripts/diagrams.py

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .bench .pytest_cache .mypy_cache .ruff_cache
