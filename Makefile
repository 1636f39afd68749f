# One entry point for every test layer. `make test` runs them all; each layer also runs alone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON    ?= python3
VENV      ?= .venv
BIN       := $(CURDIR)/$(VENV)/bin
CACHE     := $(CURDIR)/.cache
COLL_ROOT := $(CACHE)/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/mlops/mlflow
SANITY    := $(CACHE)/sanity/ansible_collections/mlops/mlflow
# Longest first, so that side by side they finish together.
SCENARIOS ?= split mlflow default external auth auth-mlflow2 seaweedfs postgresql minio
# Molecule scenarios run side by side (scripts/run-tests.sh); see docs/testing.md for the measurement.
export JOBS ?= 2

# The collection under test comes first; the collections of the ansible package follow.
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export PATH := $(BIN):$(PATH)

.PHONY: help test lint sanity units integration molecule images wheelhouse docker venv clean demo demo-clean bench

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: venv $(COLL_LINK) images wheelhouse  ## Run every test layer and scenario; ends with a report table
	scripts/run-tests.sh lint sanity units integration $(addprefix molecule/,$(SCENARIOS))

venv: $(VENV)/.installed  ## Create the controller venv (requirements-dev.txt)
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(COLL_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

lint: venv $(COLL_LINK)  ## yamllint, ansible-lint (production profile), changelog fragments, argument specs vs defaults
	yamllint --strict .
	ansible-lint
	antsibull-changelog lint
	pytest -q tests/unit/test_role_argument_specs.py

sanity: venv  ## ansible-test sanity on a copy laid out as ansible_collections/mlops/mlflow
	rm -rf $(SANITY) && mkdir -p $(SANITY)
	git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ $(SANITY)/
	# ansible-test lists files with git: give the copy its own repository, or it sees the ignored .cache.
	cd $(SANITY) && git init -q && git add -A
	mkdir -p ~/.ansible/test/cache
	for v in 24_2 25_0; do cp scripts/get-pip-offline.py ~/.ansible/test/cache/get_pip_$$v.py; done
	cd $(SANITY) && ansible-test sanity --venv --python 3.11 --color no

units: venv $(COLL_LINK)  ## Unit tests (pytest), one test file per core
	pytest -q -n auto --dist loadfile tests/unit

integration: venv $(COLL_LINK)  ## Modules against real MLflow servers on 127.0.0.1 (3.17.2, with and without auth; 2.22.5); the certificate flow on the controller; one test file per core
	pytest -n auto --dist loadfile tests/integration

wheelhouse: venv  ## Fill the controller wheelhouse the test hosts install from (cached in ~/.cache/mlops-mlflow)
	scripts/wheelhouse.sh

images:  ## Build the systemd test-host images (cached)
	scripts/test-images.sh

docker:  ## Start a Docker engine where none runs (bare CI machines)
	scripts/start-docker.sh

molecule: venv $(COLL_LINK) images wheelhouse  ## Molecule scenarios (SCENARIOS=..., JOBS=...; minio runs only with MINIO_BINARY)
	scripts/run-tests.sh $(addprefix molecule/,$(SCENARIOS))

demo: venv $(COLL_LINK)  ## The whole stack in a local container on https://localhost:8443, with a smoke test
	scripts/demo.sh

bench: venv $(COLL_LINK)  ## Benchmark the demo stack side by side with a stock mlflow server; writes benchmarks/results/ and docs/benchmarks.md
	benchmarks/run.sh

demo-clean:  ## Remove the demo container and its secrets
	docker rm -f mlops-mlflow-demo >/dev/null 2>&1 || true
	rm -rf demo

clean:  ## Remove caches and test output (keeps the venv and images)
	rm -rf $(CACHE) tests/output
