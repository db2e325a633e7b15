"""`index build --cluster` embeds on a real Dask scheduler's workers over loopback, and survives losing one.

A `dask scheduler` and two `dask worker` processes (one thread each) serve the
module; the vectors must equal a local build's, both workers must have
embedded, and a worker SIGKILLed mid-build must cost no finished chunk.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from indexer.semantic.cluster import CLUSTER_ENV
from support import ROOT
from support.embedding import (
    ARTICLES,
    DaskCluster,
    build_vectors,
    embedding_corpus,
    live_vectors,
    lowest_cosine,
    reference_vectors,
    start_build,
    wait_for_chunks,
    worker_counts,
)
from support.ports import free_port
from support.processes import cli, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return reference_vectors(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    running = DaskCluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield running
    finally:
        running.stop()


def test_cluster_build_embeds_on_both_workers_as_a_local_build_would(tmp_path: Path, cluster: DaskCluster, reference) -> None:  # type: ignore[no-untyped-def]
    corpus = embedding_corpus(tmp_path / "corpus")
    vectors, summary = build_vectors(corpus, tmp_path / "index", "--cluster", cluster.address)
    counts = worker_counts(summary)
    assert sorted(counts) == ["w1", "w2"] and all(counts.values()), summary
    assert sum(counts.values()) == ARTICLES
    assert lowest_cosine(vectors, reference) > 1 - 1e-3


def test_the_environment_names_the_cluster_and_the_flag_wins(tmp_path: Path, cluster: DaskCluster) -> None:
    corpus = embedding_corpus(tmp_path / "corpus", 16)
    env = {**os.environ, CLUSTER_ENV: cluster.address}
    done = subprocess.run([*cli(), "index", "build", "--corpus", str(corpus), "--index", str(tmp_path / "index")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 0 and f"on the Dask cluster at {cluster.address}" in done.stdout, done.stderr
    nobody = f"tcp://127.0.0.1:{free_port()}"
    done = subprocess.run([*cli(), "index", "build", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--cluster", nobody],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 1 and nobody in done.stderr


def test_a_worker_killed_mid_build_loses_no_finished_chunk(tmp_path: Path, cluster: DaskCluster, reference) -> None:  # type: ignore[no-untyped-def]
    corpus, index = embedding_corpus(tmp_path / "corpus"), tmp_path / "index"
    build = start_build(corpus, index, "--cluster", cluster.address)
    wait_for_chunks(index, 2, build)
    cluster.kill("w1")
    stdout, stderr = build.communicate(timeout=240)
    assert build.returncode == 0, stderr
    counts = worker_counts(stdout)
    assert counts.get("w2", 0) > 0 and sum(counts.values()) == ARTICLES, stdout
    assert lowest_cosine(live_vectors(index), reference) > 1 - 1e-3


def test_a_worker_without_the_model_fails_the_build_in_one_line(tmp_path: Path, cluster: DaskCluster) -> None:
    cluster.kill("w2")  # the last of the good workers: every chunk goes to the one that cannot embed
    cluster.add_worker("w3", {"ARTICLE_SEARCH_MODEL": str(tmp_path / "no-model")})
    done = run_cli("index", "build", "--corpus", str(embedding_corpus(tmp_path / "corpus", 16)), "--index", str(tmp_path / "index"),
                   "--cluster", cluster.address)
    assert done.returncode == 1
    assert re.fullmatch(r"Error: a Dask worker could not embed: cannot load the embedding model from .*no-model.*; install "
                        r"article-search and its embedding model on every worker \(or set ARTICLE_SEARCH_MODEL there\)\n", done.stderr), done.stderr
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_an_unreachable_scheduler_fails_at_once_in_one_line(tmp_path: Path) -> None:
    nobody = f"tcp://127.0.0.1:{free_port()}"
    done = run_cli("index", "build", "--corpus", str(embedding_corpus(tmp_path / "corpus", 16)), "--index", str(tmp_path / "index"),
                   "--cluster", nobody, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (f"Error: cannot reach the Dask scheduler at {nobody} ([Errno 111] Connection refused): start it with "
                           "`dask scheduler` and `dask worker ADDRESS` on each machine, or fix --cluster / ARTICLE_SEARCH_CLUSTER\n")
