"""A failing disk (EIO) under `index build`, `index update`, `index publish` and a replica reading a snapshot.

Each command runs for real in a subprocess whose writes to the files named
fail with EIO (tests/fault_injection.py). What users rely on: exit 1 with one
line on stderr saying what to do, the live index answering as before (a
reader opened before the fault, and a new one), nothing half-written where a
reader would pick it up, and the same command succeeding once the disk works.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fault_injection import (  # noqa: F401 (a fixture)
    PREAMBLE,
    collect_leaked_files,
    eio_environment,
    failing_disk,
)
from support.corpora import write_synthetic
from support.snapshots import replica_and_second_snapshot
from test_build import TOLERANCE_URL

from indexer import SearchService, build_index
from indexer.index.snapshots import publish_index

QUERY = "drug tolerance mechanisms"
# A Whoosh writer that fails mid-write leaves some of its files to the garbage collector, which warns.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")



def run_failing(pattern: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``article-search ARGUMENTS`` with every write to a file matching ``pattern`` failing with EIO."""
    return subprocess.run([sys.executable, "-c", PREAMBLE, *arguments], env=eio_environment(pattern),
                          capture_output=True, text=True, timeout=120)


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PREAMBLE, *arguments], env=eio_environment("^$"),
                          capture_output=True, text=True, timeout=120)


def assert_one_line_failure(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert says in lines[0] and "check the disk" in lines[0], lines[0]


def assert_serving(index: Path, reader: SearchService, documents: int) -> None:
    assert reader.search(QUERY).results[0].url == TOLERANCE_URL
    with SearchService(index) as fresh:
        assert fresh.search(QUERY).results[0].url == TOLERANCE_URL
        assert fresh.stats()["documents"] == documents


def test_eio_during_build(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    reader = SearchService(index, refresh_seconds=0)
    documents = reader.stats()["documents"]
    done = run_failing(r"/tmp-[^/]+/[^/]+\.pst$", "index", "build", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert_one_line_failure(done, "failed a read or write (Input/output error on ")
    assert "build again (the live index is unchanged)" in done.stderr
    assert not list(index.glob("tmp-*")), "the failed build's folder was left behind"
    assert_serving(index, reader, documents)
    assert run("index", "build", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index)).returncode == 0
    assert SearchService(index).stats()["generation"] == 2


def test_eio_during_update(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    reader = SearchService(index, refresh_seconds=0)
    documents = reader.stats()["documents"]
    write_synthetic(corpus_dir / "bulk", 30)
    done = run_failing(r"/gen-000001/[^/]+\.(pst|trm)$", "index", "update", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert_one_line_failure(done, "failed a read or write (Input/output error on ")
    assert "update again (the live index is unchanged)" in done.stderr
    assert_serving(index, reader, documents)
    again = run("index", "update", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert again.returncode == 0, again.stderr
    assert SearchService(index).stats()["documents"] == documents + 30


def test_eio_during_publish(index_dir: Path, tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    publish_index(index_dir, snapshots)
    replica = SearchService(snapshots, refresh_seconds=0)
    before = replica.search(QUERY).as_dict()["results"]
    build_index(index_dir.parent / "corpus", index_dir)  # generation 2, to publish
    done = run_failing(r"/\.incoming-[^/]+/[^/]+\.trm$", "index", "publish", "--index", str(index_dir), "--to", str(snapshots))
    assert_one_line_failure(done, "failed a read or write (Input/output error on ")
    assert "publish again (replicas keep serving the snapshot they have)" in done.stderr
    assert not list(snapshots.glob(".incoming-*")), "the failed publish left its staging folder"
    assert len(list(snapshots.glob("gen-*"))) == 1, "a half snapshot was left where replicas look"
    assert replica.search(QUERY).as_dict()["results"] == before
    again = run("index", "publish", "--index", str(index_dir), "--to", str(snapshots))
    assert again.returncode == 0, again.stderr
    assert replica.stats()["generation"] == 2


def test_eio_while_a_replica_reads_a_new_snapshot(index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    snapshots = tmp_path / "snapshots"
    replica, before, second = replica_and_second_snapshot(index_dir, snapshots, QUERY)
    with caplog.at_level(logging.WARNING), failing_disk(rf"/{second.path.name}/[^/]+\.pst$", mode="read"):
        assert replica.search(QUERY).as_dict()["results"] == before
        assert replica.stats()["generation"] == 1
    refusals = [record.getMessage() for record in caplog.records if "not switching" in record.getMessage()]
    assert len(refusals) == 1 and ".pst: Input/output error" in refusals[0], refusals
    # The disk works again: a replica started now (or this one, once the folder is new to it) serves it.
    with SearchService(snapshots) as fresh:
        assert fresh.stats()["generation"] == 2
