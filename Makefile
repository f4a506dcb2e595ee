# `make run` serves every bundled spec on http://127.0.0.1:8080; `make test` runs the test suite.
# Both create the virtualenv (.venv) and install everything on first use. `make image` builds the
# Docker image epilot-mock:latest (tools/docker-image: starts dockerd and makes a base image if needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
ARGS ?=
IMAGE ?= epilot-mock:latest

.PHONY: run test lint bench clean install image

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/epilot-mock serve --host $(HOST) --port $(PORT) $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check mockserver contracts tests bench tools
	$(BIN)/pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mockserver contracts tests bench tools
	$(BIN)/lint-imports
	$(BIN)/mypy mockserver contracts
	$(BIN)/hadolint Dockerfile

image: $(STAMP)
	PYTHON=$(BIN)/python IMAGE=$(IMAGE) tools/docker-image build

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build/wheels
