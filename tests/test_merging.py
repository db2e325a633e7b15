"""How updates merge index segments: small ones together, never a build's big ones into a small update.

Every search visits every segment, so an index that gains a segment per update
must merge them; but merging a 50,000-article segment into a one-article
update would make that update take minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import indexer.index.merging
from indexer import IndexStore, SearchService, update_index
from indexer.index.merging import tier_of


def segments(index_dir: Path) -> list[tuple[str, int]]:
    """(segment id, live documents) of each segment of the live index."""
    store = IndexStore(index_dir)
    ix = store.open(store.require_pointer())
    try:
        return [(segment.segment_id(), segment.doc_count()) for segment in ix._segments()]
    finally:
        ix.close()


def edit(path: Path, word: str) -> None:
    path.write_text(path.read_text("utf-8").replace("answer: >-", f"answer: >-\n    {word}.", 1), "utf-8")


@pytest.mark.parametrize(("live", "tier"), [(0, 0), (1, 0), (9, 0), (10, 1), (99, 1), (100, 2), (54_321, 4)])
def test_tiers_are_powers_of_ten(live: int, tier: int) -> None:
    assert tier_of(live) == tier


def test_small_updates_merge_each_other_but_leave_the_built_segment(
    corpus_dir: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer.index.merging, "SEGMENTS_PER_TIER", 3)
    (built_segment, built_count), = segments(index_dir)
    assert built_count >= 10, "the sample corpus makes a tier-1 segment"
    articles = sorted(corpus_dir.rglob("*.md"))
    counts = []
    for n, path in enumerate(articles[:12]):
        edit(path, f"Mergeword{n}")
        update_index(corpus_dir, index_dir)
        counts.append(len(segments(index_dir)))

    assert max(counts) <= 1 + 3 + 3, "at most a full tier's worth of small segments besides the built one"
    assert counts[-1] < 12, "twelve updates did not leave twelve extra segments"
    assert built_segment in {segment for segment, _ in segments(index_dir)}, "the build's segment was never rewritten"
    with SearchService(index_dir) as service:
        for n in range(12):
            assert service.search(f"mergeword{n}").total == 1, f"edit {n} survives the merges"


def test_merging_drops_deleted_articles(corpus_dir: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch, make_article: Any) -> None:
    monkeypatch.setattr(indexer.index.merging, "SEGMENTS_PER_TIER", 2)
    added = []
    for n in range(3):  # one segment per update, then merged
        added.append(make_article(corpus_dir / "testing", slug=f"merge-{n}", id=990_000 + n, title=f"What is mergefish {n}?"))
        update_index(corpus_dir, index_dir)
    added[1].unlink()
    update_index(corpus_dir, index_dir)
    for n in range(3, 6):
        edit(sorted(corpus_dir.rglob("*.md"))[n], f"Filler{n}")
        update_index(corpus_dir, index_dir)

    total = sum(live for _, live in segments(index_dir))
    assert total == len(list(corpus_dir.rglob("*.md")))
    with SearchService(index_dir) as service:
        titles = [hit.title for hit in service.search("mergefish").results]
    assert sorted(titles) == ["What is mergefish 0?", "What is mergefish 2?"]
