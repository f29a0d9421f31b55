# atp.sensor_proxy developer entry points.
#   make demo   - stand up the emulated Windows lab and run the main job against it
#   make test   - everything CI runs: unit + lab end-to-end tests, sanity, lint, changelog lint
# Both set themselves up from nothing (venv, locked packages, apt packages).
#   make lock   - regenerate requirements-dev.lock from requirements-dev.txt (UPGRADE=1: newest allowed)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/.build
# Runtime collections tree: atp/sensor_proxy is a symlink to this checkout.
COLL_ROOT := $(BUILD)/collections
# ansible-test needs a real directory named ansible_collections/atp/sensor_proxy.
TEST_ROOT := $(BUILD)/ansible-test/ansible_collections/atp/sensor_proxy
ANSIBLE_TEST_PY ?= 3.11
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

.PHONY: help venv lock setup collection apt test units lab-tests sanity lint changelog-lint fuzz demo bench docs clean

help:
	@echo "make demo   - run configure_atp_proxy.yml against the built-in emulated Windows lab"
	@echo "make test   - unit, lab end-to-end, sanity, lint and changelog checks (what CI runs)"
	@echo "make fuzz   - the long property-based codec run (100,000+ cases)"
	@echo "make bench  - benchmarks in bench/ (each prints its ratio)"
	@echo "make docs   - regenerate docs/ pages from the plugins' DOCUMENTATION"
	@echo "make lock   - regenerate requirements-dev.lock from requirements-dev.txt (UPGRADE=1 for newest)"

# Installs exactly the lock: pip refuses any file whose hash is not in it, and any package it does not pin.
$(BIN)/.stamp: $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	touch $@

venv: $(BIN)/.stamp

# Refresh the lock from requirements-dev.txt. Without UPGRADE=1 the transitive versions already locked are
# kept where they still fit; tests/packaging/test_lock.py fails when the two files disagree.
lock: venv
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links $(if $(UPGRADE),--upgrade) --output-file=$(LOCK) requirements-dev.txt

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

test: setup
	$(MAKE) --no-print-directory units
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory changelog-lint

# Unit tests, lab end-to-end playbook runs, real-proxy probe tests, integration-target checks.
units: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 tests $(PYTEST_ARGS)

fuzz: collection
	ATP_FUZZ_EXAMPLES=100000 $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/plugins/plugin_utils/test_wininet_fuzz.py

# ansible-test needs a real copy under .../ansible_collections/atp/sensor_proxy and,
# offline, our bootstrap in place of the get-pip script it would download.
sanity: venv
	mkdir -p $$HOME/.ansible/test/cache
	for v in 24_2 25_2; do cp hack/get_pip_offline.py $$HOME/.ansible/test/cache/get_pip_$$v.py; done
	rm -rf $(TEST_ROOT) && mkdir -p $(TEST_ROOT)
	git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -xf - -C $(TEST_ROOT)
	cd $(TEST_ROOT) && git init -q . && git add -A >/dev/null && \
	  $(BIN)/ansible-test sanity --venv --python $(ANSIBLE_TEST_PY) --color no

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

docs: collection
	$(BIN)/python hack/gen_docs.py

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache
