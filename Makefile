# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CORPUS ?= corpus
INDEX ?= var/index
AXE := .cache/node/node_modules/axe-core/axe.min.js

export ARTICLE_SEARCH_CORPUS ?= $(CORPUS)
export ARTICLE_SEARCH_INDEX ?= $(INDEX)

.PHONY: run test bench eval index clean help

help:
	@echo "make run    build the index if missing or stale, serve on http://$(HOST):$(PORT)"
	@echo "make test   install test extras and run the whole test suite"
	@echo "make eval   relevance on the judged collections (nDCG@10, MRR@10, Recall@100)"
	@echo "make bench  speed and memory benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/node axe-core@4

index: $(VENV)/.installed
	$(BIN)/article-search index update

run: index
	$(BIN)/article-search serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(AXE)
	bash .ci/ensure-packages
	$(BIN)/python -m pytest

eval: $(VENV)/.installed-test
	$(BIN)/python tests/eval/run.py

bench: $(VENV)/.installed-test
	bash .ci/ensure-packages
	$(BIN)/python tests/bench/run.py --sizes 10000
	$(BIN)/python tests/bench/reliability.py
	$(BIN)/python tests/bench/scale_out.py --size 10000

clean:
	rm -rf $(VENV) var .cache .pytest_cache
