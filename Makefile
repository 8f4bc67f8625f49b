# Recovery Referral Network
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help venv infra test test-fast lint run clean

help:
	@echo "make run    start the whole network with a demo (SQLite under var/)"
	@echo "make test   install, start RabbitMQ/PostgreSQL if needed, run every test"

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

test: venv infra
	$(BIN)/ruff check services gateway network tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check services gateway network tests bench

run: venv
	scripts/ensure-infra.sh rabbitmq
	$(BIN)/python -m network.run $(if $(DATABASE),--database $(DATABASE),)

clean:
	rm -rf $(VENV) var
