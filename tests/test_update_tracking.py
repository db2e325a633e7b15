"""What `index update` remembers between runs: the file ledger and the spelling vocabulary.

The ledger lets an update skip reading files whose stat is unchanged; these
tests check it never makes an update miss a real change, and that losing or
corrupting it only costs time. The vocabulary must follow every add, edit and
delete, because "did you mean" and completions offer only its words.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import indexer.writing.update
from indexer import IndexStore, SearchService, build_index, update_index
import indexer.index.ledger
from indexer.index.ledger import JOURNAL_FILE, LEDGER_FILE
from indexer.index.vocabulary import VOCABULARY_FILE, Vocabulary

TOLERANCE = Path("medicine") / "what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"


def live_folder(index_dir: Path) -> Path:
    return index_dir / IndexStore(index_dir).require_pointer().dir


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the relative path of every corpus file an update reads."""
    reads: list[str] = []
    real = indexer.writing.update.read_bytes

    def spy(file: Any) -> bytes:
        reads.append(file.relpath)
        return real(file)

    monkeypatch.setattr(indexer.writing.update, "read_bytes", spy)
    return reads


def age_corpus(corpus_dir: Path, seconds: float = 60.0) -> None:
    """Move every file's times into the past, as for a corpus written a while ago.

    (Files changed in the last two seconds are always re-hashed, which would
    hide what these tests look at.)
    """
    past = os.stat(corpus_dir).st_mtime - seconds
    for path in corpus_dir.rglob("*.md"):
        os.utime(path, (past, past))


@pytest.fixture
def aged_index(corpus_dir: Path, tmp_path: Path) -> Path:
    age_corpus(corpus_dir)
    target = tmp_path / "index"
    update_index(corpus_dir, target)  # no index yet: a full build
    return target


def search_urls(index_dir: Path, query: str) -> list[str]:
    with SearchService(index_dir) as service:
        return [hit.url for hit in service.search(query).results]


def test_update_reads_no_unchanged_file(corpus_dir: Path, aged_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = corpus_dir / TOLERANCE
    edited.write_text(edited.read_text("utf-8").replace("answer: >-", "answer: >-\n    Quixotically edited.", 1), "utf-8")
    reads = count_reads(monkeypatch)

    report = update_index(corpus_dir, aged_index)

    assert reads == [TOLERANCE.as_posix()]
    assert report.changed == [TOLERANCE.as_posix()]
    assert search_urls(aged_index, "quixotically")


def test_touched_but_unchanged_file_is_hashed_not_reindexed(corpus_dir: Path, aged_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.utime(corpus_dir / TOLERANCE)  # e.g. a checkout that rewrote the same bytes
    reads = count_reads(monkeypatch)

    report = update_index(corpus_dir, aged_index)
    assert reads == [TOLERANCE.as_posix()] and report.touched == 0

    reads.clear()
    update_index(corpus_dir, aged_index)
    assert reads == [TOLERANCE.as_posix()], "touched just now: hashed again while its time could still be racy"
    age_corpus(corpus_dir)
    update_index(corpus_dir, aged_index)
    reads.clear()
    update_index(corpus_dir, aged_index)
    assert reads == [], "its new stat is remembered"


def test_same_size_edit_with_its_old_mtime_is_still_found(corpus_dir: Path, aged_index: Path) -> None:
    """A tool that restores modification times (cp -p, rsync -t) cannot hide an edit: ctime still moves."""
    edited = corpus_dir / TOLERANCE
    before = edited.stat()
    text = edited.read_text("utf-8")
    assert "tolerance" in text
    edited.write_text(text.replace("tolerance", "toleranze", 1), "utf-8")
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert edited.stat().st_size == before.st_size and edited.stat().st_mtime_ns == before.st_mtime_ns

    report = update_index(corpus_dir, aged_index)

    assert report.changed == [TOLERANCE.as_posix()]


@pytest.mark.parametrize("damage", ["delete", "garble", "stale"])
def test_lost_or_stale_ledger_costs_time_not_correctness(
    corpus_dir: Path, aged_index: Path, make_article: Any, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    ledger = live_folder(aged_index) / LEDGER_FILE
    if damage == "delete":
        ledger.unlink()
    elif damage == "garble":
        ledger.write_bytes(b"\x00not a ledger")
    else:  # as if an update was killed after its commit, before writing the ledger
        records = [ledger, ledger.with_name(JOURNAL_FILE)]
        saved = {path: path.read_bytes() for path in records if path.exists()}
        make_article(corpus_dir / "testing", slug="committed-unrecorded", id=999_100, title="What is a wombatfish?")
        update_index(corpus_dir, aged_index)
        for path in records:
            if path in saved:
                path.write_bytes(saved[path])
            else:
                path.unlink(missing_ok=True)
    edited = corpus_dir / TOLERANCE
    edited.write_text(edited.read_text("utf-8").replace("answer: >-", "answer: >-\n    Xylophonic edit.", 1), "utf-8")
    reads = count_reads(monkeypatch)

    report = update_index(corpus_dir, aged_index)

    assert len(reads) == len(list(corpus_dir.rglob("*.md"))), "with no trustworthy ledger every file is hashed"
    assert report.changed == [TOLERANCE.as_posix()] and not report.added and not report.removed
    assert search_urls(aged_index, "xylophonic")
    age_corpus(corpus_dir)  # (the file just edited is otherwise re-hashed for two seconds)
    assert update_index(corpus_dir, aged_index).touched == 0  # new times: each file hashed, none re-indexed
    reads.clear()
    update_index(corpus_dir, aged_index)
    assert reads == [], "the ledger is whole again"


def test_duplicate_id_is_still_refused(corpus_dir: Path, aged_index: Path, make_article: Any) -> None:
    taken = 500001  # the tolerance article's id
    make_article(corpus_dir / "testing", slug="copycat", id=taken, title="What is a copycat?")

    report = update_index(corpus_dir, aged_index)

    assert [error.source for error in report.errors] == ["testing/copycat.md"]
    assert "duplicate id 500001" in report.errors[0].reason and TOLERANCE.as_posix() in report.errors[0].reason
    assert not report.added


def test_deleting_a_file_frees_its_id_for_another(corpus_dir: Path, aged_index: Path, make_article: Any) -> None:
    (corpus_dir / TOLERANCE).unlink()
    make_article(corpus_dir / "testing", slug="successor", id=500001, title="What is a successor?")

    report = update_index(corpus_dir, aged_index)

    assert report.removed == [TOLERANCE.as_posix()] and report.added == ["testing/successor.md"] and not report.errors


def test_vocabulary_follows_adds_edits_and_deletes(corpus_dir: Path, aged_index: Path, make_article: Any) -> None:
    new = make_article(corpus_dir / "testing", slug="quokka", id=999_200, title="What is a quokkafish?", answer="The quokkafish swims.")
    update_index(corpus_dir, aged_index)
    with SearchService(aged_index) as service:
        assert "quokkafish" in service.suggest("quokkaf")
        assert service.search("quokkafsh").corrected == "quokkafish"

    new.write_text(new.read_text("utf-8").replace("quokkafish", "wallabyfish"), "utf-8")
    update_index(corpus_dir, aged_index)
    vocabulary = Vocabulary.load(live_folder(aged_index))
    assert vocabulary is not None
    assert "quokkafish" not in vocabulary and vocabulary.frequency("wallabyfish") == 1

    new.unlink()
    update_index(corpus_dir, aged_index)
    vocabulary = Vocabulary.load(live_folder(aged_index))
    assert vocabulary is not None and "wallabyfish" not in vocabulary
    assert vocabulary.frequency("tolerance") >= 1


def fresh_vocabulary(corpus_dir: Path, tmp_path: Path) -> dict[str, int]:
    target = tmp_path / "fresh"
    build_index(corpus_dir, target)
    built = Vocabulary.load(live_folder(target))
    assert built is not None
    return built.counts


def test_vocabulary_after_updates_equals_a_full_builds(corpus_dir: Path, aged_index: Path, make_article: Any, tmp_path: Path) -> None:
    make_article(corpus_dir / "testing", slug="emu", id=999_300, title="What is an emuhawk?")
    (corpus_dir / TOLERANCE).unlink()
    update_index(corpus_dir, aged_index)

    updated = Vocabulary.load(live_folder(aged_index))
    assert updated is not None and updated.counts == fresh_vocabulary(corpus_dir, tmp_path)


def test_vocabulary_lost_is_rebuilt_by_the_next_update(corpus_dir: Path, aged_index: Path, make_article: Any, tmp_path: Path) -> None:
    (live_folder(aged_index) / VOCABULARY_FILE).unlink()
    make_article(corpus_dir / "testing", slug="emu", id=999_300, title="What is an emuhawk?")

    update_index(corpus_dir, aged_index)

    rebuilt = Vocabulary.load(live_folder(aged_index))
    assert rebuilt is not None and rebuilt.frequency("emuhawk") == 1
    assert rebuilt.counts == fresh_vocabulary(corpus_dir, tmp_path)


def test_many_small_updates_fold_the_journal_and_miss_nothing(corpus_dir: Path, aged_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexer.index.ledger, "JOURNAL_LIMIT", 2)
    folder = live_folder(aged_index)
    articles = sorted(corpus_dir.rglob("*.md"))[:5]
    bases, journals = set(), 0
    for n, path in enumerate(articles):
        path.write_text(path.read_text("utf-8").replace("answer: >-", f"answer: >-\n    Journalword{n}.", 1), "utf-8")
        report = update_index(corpus_dir, aged_index)
        assert report.changed == [path.relative_to(corpus_dir).as_posix()]
        bases.add((folder / LEDGER_FILE).read_bytes())
        journals += (folder / JOURNAL_FILE).exists()
    assert journals and len(bases) > 1, "small updates write a journal, folded into a new base past the limit"
    age_corpus(corpus_dir)
    update_index(corpus_dir, aged_index)  # new times: hashed once, nothing re-indexed
    reads = count_reads(monkeypatch)
    assert update_index(corpus_dir, aged_index).touched == 0 and reads == []
    for n in range(5):
        assert search_urls(aged_index, f"journalword{n}"), f"edit {n} is searchable"


def test_deletions_survive_the_journal_and_its_folding(corpus_dir: Path, aged_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexer.index.ledger, "JOURNAL_LIMIT", 1)
    first, second = corpus_dir / TOLERANCE, sorted(corpus_dir.rglob("*.md"))[0]
    kept = first.read_text("utf-8")
    first.unlink()
    assert update_index(corpus_dir, aged_index).removed == [TOLERANCE.as_posix()]  # journalled
    second.unlink()
    assert update_index(corpus_dir, aged_index).removed == [second.relative_to(corpus_dir).as_posix()]  # folded into a new base

    first.write_text(kept, "utf-8")
    report = update_index(corpus_dir, aged_index)

    assert report.added == [TOLERANCE.as_posix()] and not report.removed
    age_corpus(corpus_dir)
    update_index(corpus_dir, aged_index)
    reads = count_reads(monkeypatch)
    assert update_index(corpus_dir, aged_index).touched == 0 and reads == []
    with SearchService(aged_index) as service:
        assert service.search("drug tolerance").total and service.stats()["documents"] == len(list(corpus_dir.rglob("*.md")))
