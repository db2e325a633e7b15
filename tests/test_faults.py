"""Faults while writing: a full disk must leave the live index serving and say what happened."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from helpers import SAMPLE_CORPUS
from support import disks
from support.corpora import write_synthetic
from test_build import TOLERANCE_URL

from indexer import BuildError, SearchService, build_index, update_index
from indexer.index.snapshots import publish_index


def fill(disk: Path, leave: int = 256 * 1024) -> Path:
    """Fill ``disk`` until only ``leave`` bytes are free."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of our own, to fill up."""
    with disks.small_disk(tmp_path / "small-disk", 16) as mount:
        yield mount


# A Whoosh writer that fails mid-write leaves some of its files to the garbage
# collector, which warns; what users rely on is asserted below.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def test_disk_full_during_build_keeps_the_live_index(small_disk: Path, tmp_path: Path) -> None:
    index = small_disk / "index"
    build_index(SAMPLE_CORPUS, index)
    filler = fill(small_disk)
    with pytest.raises(BuildError, match="disk holding .* is full; free space and build again"):
        build_index(SAMPLE_CORPUS, index)
    assert not list(index.glob("tmp-*")), "the failed build's files were not cleaned up"
    with SearchService(index) as service:
        assert service.search("drug tolerance mechanisms").results[0].url == TOLERANCE_URL
    # Once there is room again, the next build succeeds without manual clean-up.
    filler.unlink()
    assert build_index(SAMPLE_CORPUS, index).pointer.generation == 2


def test_disk_full_during_update_keeps_the_live_index(small_disk: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run(["cp", "-r", str(SAMPLE_CORPUS), str(corpus)], check=True)
    index = small_disk / "index"
    build_index(corpus, index)
    write_synthetic(corpus / "bulk", 300, words=400)
    fill(small_disk)
    with pytest.raises(BuildError, match="disk holding .* is full; free space and update again"):
        update_index(corpus, index)
    with SearchService(index) as service:
        assert service.search("drug tolerance mechanisms").results[0].url == TOLERANCE_URL
        assert service.stats()["documents"] == len(list(SAMPLE_CORPUS.rglob("*.md")))


def article_search(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as cron runs it (stderr piped)."""
    command = str(Path(sys.executable).with_name("article-search"))
    return subprocess.run([command, *arguments], capture_output=True, text=True, timeout=120)


def test_disk_full_on_the_command_line_says_what_to_do(small_disk: Path, corpus_dir: Path) -> None:
    """`index build` and `index update` on a full disk: exit 1, one line, the live index as it was, then success."""
    index = small_disk / "index"
    build_index(corpus_dir, index)
    reader = SearchService(index, refresh_seconds=0)
    write_synthetic(corpus_dir / "bulk", 300)
    filler = fill(small_disk)
    for command, again in (("build", "build again"), ("update", "update again")):
        done = article_search("index", command, "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"Error: the disk holding {index} is full; free space and {again} (the live index is unchanged)"
        ]
        assert not list(index.glob("tmp-*"))
        assert reader.search("drug tolerance mechanisms").results[0].url == TOLERANCE_URL
        assert reader.stats()["documents"] == len(list(SAMPLE_CORPUS.rglob("*.md")))
    filler.unlink()
    done = article_search("index", "update", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert done.returncode == 0, done.stderr
    assert reader.stats()["documents"] == len(list(SAMPLE_CORPUS.rglob("*.md"))) + 300


def test_disk_full_during_publish_leaves_the_replicas_snapshot(small_disk: Path, index_dir: Path, corpus_dir: Path) -> None:
    snapshots = small_disk / "snapshots"
    publish_index(index_dir, snapshots)
    replica = SearchService(snapshots, refresh_seconds=0)
    before = replica.search("drug tolerance mechanisms").as_dict()["results"]
    write_synthetic(corpus_dir / "bulk", 300)
    build_index(corpus_dir, index_dir)  # a bigger generation 2 to publish
    filler = fill(small_disk, leave=64 * 1024)
    done = article_search("index", "publish", "--index", str(index_dir), "--to", str(snapshots))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: the disk holding {snapshots} is full; free space and publish again (replicas keep serving the snapshot they have)"
    ]
    assert not list(snapshots.glob(".incoming-*")), "the failed publish left its staging folder behind"
    assert len(list(snapshots.glob("gen-*"))) == 1
    assert replica.search("drug tolerance mechanisms").as_dict()["results"] == before
    filler.unlink()
    assert article_search("index", "publish", "--index", str(index_dir), "--to", str(snapshots)).returncode == 0
    assert replica.stats()["generation"] == 2


def test_snapshot_copied_onto_a_full_disk_is_refused(small_disk: Path, index_dir: Path, corpus_dir: Path, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A replica host copying a snapshot (rsync, cp) runs out of space: the half copy is refused, the old one serves."""
    published = tmp_path / "published"
    publish_index(index_dir, published)
    local = small_disk / "snapshots"
    shutil.copytree(published, local)
    replica = SearchService(local, refresh_seconds=0)
    before = replica.search("drug tolerance mechanisms").as_dict()["results"]
    write_synthetic(corpus_dir / "bulk", 300)
    build_index(corpus_dir, index_dir)
    second = publish_index(index_dir, published)
    fill(small_disk, leave=64 * 1024)
    with pytest.raises(shutil.Error, match="No space left on device"):
        shutil.copytree(second.path, local / second.path.name)
    shutil.copy2(published / "CURRENT", local / "CURRENT")  # the copy's last step, run by a careless script
    with caplog.at_level(logging.WARNING):
        assert replica.search("drug tolerance mechanisms").as_dict()["results"] == before
        assert replica.search("photosynthesis").total > 0
    refusals = [record.getMessage() for record in caplog.records if "not switching" in record.getMessage()]
    assert len(refusals) == 1 and second.path.name in refusals[0] and "publish it again" in refusals[0], refusals
    assert replica.stats()["generation"] == 1
