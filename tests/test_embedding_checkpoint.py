"""The embedding checkpoint and the vectors file keep every content hash whole, and skip what they cannot read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.semantic.checkpoint import CHECKPOINT_DIR, EmbeddingCheckpoint
from indexer.semantic.vectors import ArticleVectors

#: Hashes ending in zero bytes: one article in 256 has such a content hash.
HASHES = ["ab" * 15 + "00", "00" * 16, "0123456789abcdef" * 2, "cd" * 14 + "0000"]


def _rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 8)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_vectors_file_keeps_hashes_that_end_in_zero_bytes(tmp_path: Path) -> None:
    vectors = ArticleVectors("model-a", dict(zip(HASHES, _rows(len(HASHES)))))
    vectors.save(tmp_path)
    loaded = ArticleVectors.load(tmp_path)
    assert loaded is not None and sorted(loaded.rows) == sorted(HASHES)


def test_checkpoint_gives_back_the_rows_asked_for_of_its_own_model(tmp_path: Path) -> None:
    rows = _rows(len(HASHES))
    first = EmbeddingCheckpoint(tmp_path, "model-a")
    first.add(HASHES[:2], rows[:2])
    first.add(HASHES[2:], rows[2:])
    EmbeddingCheckpoint(tmp_path, "model-b").add(HASHES[:1], _rows(1, seed=9))

    again = EmbeddingCheckpoint(tmp_path, "model-a").load(HASHES[1:] + ["ee" * 16])
    assert sorted(again) == sorted(HASHES[1:])
    for digest, row in zip(HASHES[1:], rows[1:]):
        assert np.array_equal(again[digest], row)  # float32 kept exactly: a resumed build equals an uninterrupted one
    assert np.array_equal(EmbeddingCheckpoint(tmp_path, "model-b").load(HASHES)[HASHES[0]], _rows(1, seed=9)[0])


def test_damaged_checkpoint_files_are_skipped_not_fatal(tmp_path: Path) -> None:
    checkpoint = EmbeddingCheckpoint(tmp_path, "model-a")
    checkpoint.add(HASHES[:2], _rows(2))
    checkpoint.add(HASHES[2:], _rows(2, seed=1))
    files = sorted(checkpoint.folder.glob("chunk-*.npz"))
    files[0].write_bytes(files[0].read_bytes()[:100])  # cut short
    (checkpoint.folder / "chunk-0-000000-garbage.npz").write_bytes(b"not a chunk")
    (checkpoint.folder / ".chunk-1-000000-x.npz.1.tmp").write_bytes(b"a temporary a kill left")

    assert sorted(EmbeddingCheckpoint(tmp_path, "model-a").load(HASHES)) == sorted(HASHES[2:])
    checkpoint.clear()
    assert not (tmp_path / CHECKPOINT_DIR).exists()
