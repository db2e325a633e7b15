"""Faults while writing: a full disk must leave the live index serving and say what happened."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from helpers import SAMPLE_CORPUS
from indexer import BuildError, SearchService, build_index, update_index
from support.corpora import write_synthetic
from test_build import TOLERANCE_URL


def fill(disk: Path, leave: int = 256 * 1024) -> Path:
    """Fill ``disk`` until only ``leave`` bytes are free."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of our own, to fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


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
