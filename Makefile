# Paperledger: `make up` starts the whole system, `make test` runs every check,
# `make bench` measures it (bench/README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck pytest fmt clean bench bench-quick bench-search

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/paperledger up

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy command_api query_api projectors ocr_worker notifier schemas infra bench

pytest: $(STAMP)
	$(BIN)/pytest

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The full run; pass options with ARGS, e.g. make bench ARGS="--documents 100000".
bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

# The same figures, smaller and shorter: a few minutes.
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick $(ARGS)

# Search latency on PostgreSQL and OpenSearch (needs Java and Maven for OpenSearch);
# e.g. make bench-search ARGS="--documents 100000 --heap 2g".
bench-search: $(STAMP)
	$(BIN)/python -m bench.search $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
