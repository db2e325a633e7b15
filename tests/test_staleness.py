"""``serve`` says at start when the corpus has moved on since the index was written."""

from __future__ import annotations

import os
from pathlib import Path

from indexer.writing.build import build_index
from indexer.writing.staleness import Staleness, corpus_changes
from indexer.writing.update import update_index
from tests.support.corpora import article_text, write_synthetic
from webapp.server import startup_notice


def _built(tmp_path: Path) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_synthetic(corpus, 6)
    build_index(corpus, index, semantic=False)
    return corpus, index


def test_a_fresh_index_is_not_behind(tmp_path: Path) -> None:
    corpus, index = _built(tmp_path)
    assert corpus_changes(corpus, index) == Staleness(0, 0, 0)
    assert startup_notice(index, corpus) is None


def test_added_changed_and_removed_articles_are_counted_and_named_with_the_fix(tmp_path: Path) -> None:
    corpus, index = _built(tmp_path)
    files = sorted(corpus.rglob("*.md"))
    files[0].unlink()
    edited = files[1].read_text(encoding="utf-8").replace("Synthetic 1:", "Synthetic one:")
    files[1].write_text(edited, encoding="utf-8")
    touched = files[2]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))  # new stat, same bytes
    (corpus / "new.md").write_text(article_text(slug="new", id=990001), encoding="utf-8")

    assert corpus_changes(corpus, index) == Staleness(added=1, changed=1, removed=1)
    notice = startup_notice(index, corpus)
    assert notice is not None
    assert "1 added, 1 changed, 1 removed" in notice and f"index update --corpus {corpus}" in notice

    update_index(corpus, index)
    assert corpus_changes(corpus, index) == Staleness(0, 0, 0)


def test_without_an_index_the_notice_says_which_build_to_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_synthetic(corpus, 2)
    notice = startup_notice(tmp_path / "none", corpus)
    assert notice is not None and f"index build --corpus {corpus}" in notice
    assert corpus_changes(corpus, tmp_path / "none") is None


def test_a_missing_corpus_cannot_be_compared(tmp_path: Path) -> None:
    _, index = _built(tmp_path)
    assert corpus_changes(tmp_path / "gone", index) is None
    assert startup_notice(index, tmp_path / "gone") is None
