# atp.sensor_proxy developer entry points.
#   make demo   - stand up the emulated Windows lab and run the main job against it
#   make test   - everything CI runs: unit + lab end-to-end tests, lint, docs and changelog lint, the version matrix
# Both set themselves up from nothing (venv, locked packages, apt packages).
#   make lock   - regenerate requirements-dev.lock and the version matrix's locks (UPGRADE=1: newest allowed)
#   make matrix - ansible-test sanity and the lab smoke run on every ansible-core the collection claims

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/.build
# Runtime collections tree: atp/sensor_proxy is a symlink to this checkout.
COLL_ROOT := $(BUILD)/collections
# The ansible-core minor of the main toolchain (requirements-dev.txt), a row of hack/matrix/matrix.yml.
MAIN_CORE := $(shell sed -n 's/^ansible-core==\([0-9]*\.[0-9]*\)\..*/\1/p' requirements-dev.txt)
APT_PACKAGES := tinyproxy chromium
# Every package make installs, transitive ones included, pinned with hashes (pip-compile --generate-hashes).
LOCK := requirements-dev.lock
UPGRADE ?=
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export PYTHONPATH := $(COLL_ROOT)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PATH := $(BIN):$(PATH)

.PHONY: help venv lock setup collection apt test units lab-tests sanity matrix lint docs-lint changelog-lint fuzz demo bench docs clean

help:
	@echo "make demo   - run configure_atp_proxy.yml against the built-in emulated Windows lab"
	@echo "make test   - unit, lab end-to-end, lint, docs/changelog lint, the version matrix (what CI runs)"
	@echo "make fuzz   - the long property-based codec run (100,000+ cases)"
	@echo "make bench  - benchmarks in bench/ (each prints its ratio)"
	@echo "make docs   - regenerate docs/ pages from the plugins' DOCUMENTATION (antsibull-docs)"
	@echo "make matrix - sanity and the lab smoke run on every claimed ansible-core (MATRIX=2.16,2.20 for some)"
	@echo "make lock   - regenerate requirements-dev.lock and hack/matrix/*.lock (UPGRADE=1 for newest)"

# Installs exactly the lock: pip refuses any file whose hash is not in it, and any package it does not pin.
$(BIN)/.stamp: $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	touch $@

venv: $(BIN)/.stamp

# Refresh the lock from requirements-dev.txt. Without UPGRADE=1 the transitive versions already locked are
# kept where they still fit; tests/packaging/test_lock.py fails when the two files disagree.
# The matrix's rows (hack/matrix/ansible-core-<minor>.txt -> .lock) are compiled by each row's own Python.
lock: venv
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links $(if $(UPGRADE),--upgrade) --output-file=$(LOCK) requirements-dev.txt
	$(BIN)/python hack/matrix.py lock $(if $(UPGRADE),--upgrade)

# Packages from apt that the tests use as real parts (a second real proxy).
$(BUILD)/.apt-stamp:
	mkdir -p $(BUILD)
	if ! command -v tinyproxy >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; fi; \
	fi
	touch $@

apt: $(BUILD)/.apt-stamp

collection: venv
	mkdir -p $(COLL_ROOT)/ansible_collections/atp
	ln -sfn $(CURDIR) $(COLL_ROOT)/ansible_collections/atp/sensor_proxy

setup: venv collection apt

# The whole version matrix fits CI's time (README: measured 32 min under load), so make test runs every row;
# TEST_MATRIX=2.16,2.20 (the oldest and the newest) would leave the rest to `make matrix`.
TEST_MATRIX ?=
test: setup
	$(MAKE) --no-print-directory units
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs-lint
	$(MAKE) --no-print-directory changelog-lint
	$(MAKE) --no-print-directory matrix MATRIX=$(TEST_MATRIX)

# Unit tests, lab end-to-end playbook runs, real-proxy probe tests, integration-target checks.
units: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 tests $(PYTEST_ARGS)

fuzz: collection
	ATP_FUZZ_EXAMPLES=100000 $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/plugins/plugin_utils/test_wininet_fuzz.py

# ansible-test sanity (zero ignores) of the main toolchain: the matrix's main row. hack/matrix.py copies the
# collection to a real .../ansible_collections/atp/sensor_proxy and puts the offline get-pip bootstrap in place.
sanity: collection
	$(BIN)/python hack/matrix.py --versions $(MAIN_CORE) --steps sanity

# Every ansible-core the collection claims: sanity and the lab smoke run, each in a venv from its hashed lock.
MATRIX ?=
matrix: collection
	$(BIN)/python hack/matrix.py $(if $(MATRIX),--versions $(MATRIX))

lint: collection
	$(BIN)/python hack/check_docs_yaml.py
	$(BIN)/ruff check plugins tests bench hack
	$(BIN)/ansible-lint --offline --profile production roles playbooks

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

demo: setup
	$(BIN)/python -m tests.lab.demo

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

# The reference pages (docs/modules, docs/roles, the list in docs/index.md), rendered by antsibull-docs.
docs: collection
	$(BIN)/python hack/docs.py

# antsibull-docs' own lint of the collection's documentation, the plugins' docs included (markup, references,
# schema): a broken module doc fails make test here (tests/packaging/test_docs_lint.py breaks one on purpose).
docs-lint: venv
	test -e $(COLL_ROOT)/ansible_collections/atp/sensor_proxy || $(MAKE) --no-print-directory collection
	cd $(COLL_ROOT)/ansible_collections/atp/sensor_proxy && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache
