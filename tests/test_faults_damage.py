"""A damaged file in the live generation: refused when opened, one log line naming it, the previous one serving.

Files are damaged for real on disk (truncated, bytes flipped, replaced by
another model's), in a generation built as users build them. `index verify`
reports each damaged file on its own line and exits 1; a sound index exits 0.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fault_injection import collect_leaked_files  # noqa: F401 (an autouse fixture)
from support.corpora import write_synthetic
from support.snapshots import replica_and_second_snapshot

from indexer import SearchService, build_index, update_index
from indexer.index.files import record_files

QUERY = "drug tolerance mechanisms"
# Whoosh opening a damaged segment leaves the files it had opened to the garbage collector, which warns.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CLI = str(Path(sys.executable).with_name("article-search"))


def verify(index: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "index", "verify", "--index", str(index), *options], capture_output=True, text=True, timeout=120)


def live_file(index: Path, suffix: str) -> Path:
    pointer = json.loads((index / "CURRENT").read_text("utf-8"))
    return next(path for path in sorted((index / pointer["dir"]).iterdir()) if path.name.endswith(suffix))


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def add_vectors(index: Path, model: str = "fake-model", dimensions: int = 8) -> None:
    """Give the live generation article vectors (made up: the model is not what is tested) and record its files."""
    from whoosh import index as whoosh_index

    from indexer.semantic.vectors import ArticleVectors

    folder = live_file(index, ".toc").parent
    ix = whoosh_index.open_dir(str(folder))
    with ix.reader() as reader:
        hashes = [reader.column_reader("content_hash")[docnum] for docnum in reader.all_doc_ids()]
    rng = np.random.default_rng(7)
    ArticleVectors(model, {digest: rng.standard_normal(dimensions).astype(np.float16) for digest in hashes}).save(folder)
    record_files(folder, ix.latest_generation())


def add_query_encoder(index: Path, model: str, dimensions: int) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    from indexer.semantic.query_encoder import QueryEncoder

    tokenizer = Tokenizer(WordLevel({"drug": 0, "[UNK]": 1}, unk_token="[UNK]")).to_str()
    folder = live_file(index, ".toc").parent
    QueryEncoder(model, np.array([0], dtype=np.int32), np.ones((1, dimensions), dtype=np.float16), 2, tokenizer).save(folder)


def test_a_sound_index_verifies(index_dir: Path) -> None:
    done = verify(index_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.strip().endswith("is sound")
    assert json.loads(verify(index_dir, "--json").stdout)["ok"] is True
    update_index(index_dir.parent / "corpus", index_dir)  # nothing changed: still sound
    write_synthetic(index_dir.parent / "corpus" / "bulk", 20)
    update_index(index_dir.parent / "corpus", index_dir)  # a new segment, its list rewritten
    assert verify(index_dir).returncode == 0


@pytest.mark.parametrize("suffix", [".pst", ".trm", "._stored.col", ".subject.col", "._answer_len.col", "vectors.npz"])
def test_a_truncated_file_in_a_new_build_is_refused(suffix: str, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    service = SearchService(index, refresh_seconds=0)
    before = service.search(QUERY).as_dict()["results"]
    build_index(corpus_dir, index)  # generation 2, then damaged before any reader opens it
    if suffix == "vectors.npz":
        add_vectors(index)
    damaged = live_file(index, suffix)
    truncate(damaged)
    with caplog.at_level(logging.WARNING, logger="indexer.search.pool"):
        assert service.search(QUERY).as_dict()["results"] == before
        assert service.search("photosynthesis").total > 0
        assert service.stats()["generation"] == 1
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and str(damaged) in lines[0] and "truncated" in lines[0], lines
    done = verify(index)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(f"{damaged}: "), done.stdout
    assert "rebuild with `article-search index build`" in done.stderr


def test_verify_names_each_damaged_file_without_a_file_list(corpus_dir: Path, tmp_path: Path) -> None:
    """An index written before file lists existed is checked by reading it back."""
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    live_file(index, ".generation-files").unlink()
    damaged = [live_file(index, ".pst"), live_file(index, "._stored.col")]
    for path in damaged:
        truncate(path)
    done = verify(index)
    assert done.returncode == 1
    assert [line.split(": ", 1)[0] for line in done.stdout.splitlines()] == [str(damaged[1]), str(damaged[0])]
    report = json.loads(verify(index, "--json").stdout)
    assert report["ok"] is False and len(report["problems"]) == 2


def test_vectors_and_encoder_that_do_not_match(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    add_vectors(index, model="model-a", dimensions=8)
    add_query_encoder(index, model="model-b", dimensions=16)
    record_files(live_file(index, ".toc").parent, 1)
    done = verify(index)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{live_file(index, 'query-encoder.npz')}: made for model-b (16 dimensions), the vectors by model-a (8)"
    ]
    flip_a_byte(live_file(index, "vectors.npz"))  # same size: only the SHA-256 tells
    assert f"{live_file(index, 'vectors.npz')}: contents differ from those written (SHA-256 mismatch)" in verify(index).stdout


def test_a_segment_damaged_after_an_update_keeps_the_searcher_serving(corpus_dir: Path, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    service = SearchService(index, refresh_seconds=0)
    before = service.search(QUERY).as_dict()["results"]
    old = {path.name for path in live_file(index, ".toc").parent.iterdir()}
    write_synthetic(corpus_dir / "bulk", 20)
    update_index(corpus_dir, index)
    new_terms = next(path for path in live_file(index, ".toc").parent.iterdir() if path.suffix == ".trm" and path.name not in old)
    truncate(new_terms)
    with caplog.at_level(logging.WARNING, logger="indexer.search.pool"):
        assert service.search(QUERY).as_dict()["results"] == before
        assert service.search(QUERY).as_dict()["results"] == before
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and str(new_terms) in lines[0], lines


def test_a_snapshot_that_fails_its_manifest(index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    snapshots = tmp_path / "snapshots"
    replica, before, second = replica_and_second_snapshot(index_dir, snapshots, QUERY)
    damaged = next(second.path.glob("*.pst"))
    flip_a_byte(damaged)
    with caplog.at_level(logging.WARNING, logger="indexer.search.pool"):
        assert replica.search(QUERY).as_dict()["results"] == before
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and f"fails its hash check ({damaged.name})" in lines[0], lines
    done = verify(snapshots)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{damaged}: contents differ from those written (SHA-256 mismatch)"]
    shutil.rmtree(second.path)
