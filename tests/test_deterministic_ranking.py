"""The same query gets the same scores in every process.

Each web worker is its own Python process with its own string hashing; a
ranking that summed a query's words in the order of a set would differ in the
last bit from worker to worker, and articles tied on screen could swap places
between two identical requests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import build_index
from support import ROOT
from support.corpora import SAMPLE_CORPUS, copy_corpus_and_index

QUERIES = [
    "how does the body keep its temperature steady",
    "prices rising everywhere supply demand money",
    "drug tolerance mechanisms liver enzymes receptors",
    "why do we forget things memory sleep",
    "light wave particle electron photon energy",
]

SCRIPT = """
import json, sys
from indexer import SearchService
service = SearchService(sys.argv[1])
pages = [service.search(query, per_page=20) for query in json.loads(sys.argv[2])]
print(json.dumps([[(hit.url, hit.score, hit.passage_url, hit.passage_score) for hit in page.results] for page in pages]))
"""


def scores_with_hash_seed(index: Path, seed: int) -> list[object]:
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(index), json.dumps(QUERIES)], env=environment,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=["words", "meaning"])
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "meaning":
        return copy_corpus_and_index(request.getfixturevalue("semantic_sample"), tmp_path_factory.mktemp("meaning"))[1]
    target = tmp_path_factory.mktemp(request.param) / "index"
    build_index(SAMPLE_CORPUS, target, semantic=False)
    return target


def test_scores_do_not_depend_on_the_process(index: Path) -> None:
    first = scores_with_hash_seed(index, 1)
    assert all(first), "every query found articles"
    for seed in (2, 3, 4):
        assert scores_with_hash_seed(index, seed) == first
