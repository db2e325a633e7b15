"""Building and updating: generations, hashes, locks and failures (kill -9: tests/test_reliability_crash.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import ROOT
from indexer import BuildError, IndexLocked, IndexStore, SearchService, build_index, update_index

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"


def test_build_indexes_the_sample_corpus(index_dir: Path, corpus_dir: Path) -> None:
    pointer = IndexStore(index_dir).require_pointer()
    assert pointer.documents == len(list(corpus_dir.rglob("*.md")))
    assert pointer.generation == 1


def test_sample_search_ranks_tolerance_article_first(sample_index: Path) -> None:
    results = SearchService(sample_index).search("drug tolerance mechanisms")
    top = results.results[0]
    assert top.url == TOLERANCE_URL
    assert "<mark>tolerance</mark>" in top.title_html.lower()
    assert "<mark>" in top.snippet_html
    assert results.facets["Medicine"] >= 1


def test_update_changes_exactly_the_edited_added_and_deleted(corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    before = IndexStore(index_dir).require_pointer()
    edited = corpus_dir / "medicine" / "what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"
    edited.write_text(edited.read_text("utf-8").replace("answer: >-", "answer: >-\n    Zanzibarian tolerance note.", 1), "utf-8")
    make_article(corpus_dir / "testing", slug="brand-new", id=999_001, title="What is a quokkafish?")
    deleted = sorted((corpus_dir / "physics").glob("*.md"))[0]
    deleted.unlink()

    report = update_index(corpus_dir, index_dir)

    assert report.changed == ["medicine/what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"]
    assert report.added == ["testing/brand-new.md"]
    assert report.removed == [f"physics/{deleted.name}"]
    assert report.pointer is not None and report.pointer.documents == before.documents
    service = SearchService(index_dir)
    assert service.search("zanzibarian").results[0].url == TOLERANCE_URL
    assert service.search("quokkafish").total == 1
    assert service.stats()["documents"] == before.documents

    again = update_index(corpus_dir, index_dir)
    assert again.touched == 0


def test_update_keeps_last_good_version_of_a_broken_edit(corpus_dir: Path, index_dir: Path) -> None:
    path = corpus_dir / "medicine" / "what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"
    path.write_text("---\ntitle: [broken\n---\n", "utf-8")
    report = update_index(corpus_dir, index_dir)
    assert report.touched == 0
    assert report.errors[0].source.endswith("drug-tolerance.md")
    assert SearchService(index_dir).search("drug tolerance").results[0].url == TOLERANCE_URL


def test_renamed_file_keeps_its_id(corpus_dir: Path, index_dir: Path) -> None:
    path = corpus_dir / "medicine" / "what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"
    path.rename(corpus_dir / "medicine" / "renamed.md")
    report = update_index(corpus_dir, index_dir)
    assert report.added == ["medicine/renamed.md"] and len(report.removed) == 1
    assert not report.errors


def test_strict_build_fails_and_keeps_the_live_index(corpus_dir: Path, index_dir: Path) -> None:
    (corpus_dir / "broken.md").write_text("no front matter", "utf-8")
    with pytest.raises(BuildError, match="1 bad article"):
        build_index(corpus_dir, index_dir, strict=True)
    pointer = IndexStore(index_dir).require_pointer()
    assert pointer.generation == 1
    assert not list(index_dir.glob("tmp-*"))
    lenient = build_index(corpus_dir, index_dir)
    assert [error.source for error in lenient.errors] == ["broken.md"]
    assert lenient.pointer.generation == 2


def test_empty_corpus_does_not_replace_the_index(tmp_path: Path, index_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="no article"):
        build_index(tmp_path / "empty", index_dir)
    assert SearchService(index_dir).stats()["documents"] > 0


def test_old_generations_are_pruned(corpus_dir: Path, index_dir: Path) -> None:
    for _ in range(3):
        build_index(corpus_dir, index_dir)
    assert sorted(path.name for path in index_dir.glob("gen-*")) == ["gen-000003", "gen-000004"]


def test_second_writer_waits_then_says_so(corpus_dir: Path, index_dir: Path) -> None:
    store = IndexStore(index_dir)
    with store.write_lock():
        started = time.monotonic()
        with pytest.raises(IndexLocked, match=r"another build or update \(process \d+\) is writing"):
            update_index(corpus_dir, index_dir, lock_timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 3


def test_two_concurrent_updates_serialise(corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    for n in range(20):
        make_article(corpus_dir / "testing", slug=f"new-{n}", id=800_000 + n)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "indexer", "index", "update", "--corpus", str(corpus_dir), "--index", str(index_dir)]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    added = sorted(int(out.split("added ")[1].split(",")[0]) for out, _ in outputs)
    assert added == [0, 20]
    assert SearchService(index_dir).stats()["documents"] == len(list(corpus_dir.rglob("*.md")))


def test_readers_see_old_or_new_generation_during_rebuild(corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    service = SearchService(index_dir, refresh_seconds=0)
    baseline = service.search("drug tolerance").total
    make_article(corpus_dir / "testing", slug="tolerance-extra", id=777_001, title="Tolerance extra", answer="drug tolerance again")
    failures: list[BaseException] = []
    totals: set[int] = set()
    done = threading.Event()

    def hammer() -> None:
        local = SearchService(index_dir, refresh_seconds=0)
        while not done.is_set():
            try:
                totals.add(local.search("drug tolerance", per_page=5).total)
            except BaseException as error:  # noqa: BLE001 - any failure is the finding
                failures.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            build_index(corpus_dir, index_dir)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert not failures
    assert totals <= {baseline, baseline + 1}
    assert service.search("drug tolerance").total == baseline + 1
