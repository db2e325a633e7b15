"""A searcher opened before an update keeps answering after the update deletes its segments.

Whoosh reads a segment's stored fields and columns on first use and asks the
folder whether a column exists each time, while an update whose commit merges
segments deletes the merged ones' files at once. Before searchers held their
files open, a worker that had opened its searcher a moment before such a commit
answered 500: ``IndexError`` building the subject facet, ``TypeError`` reading
an article's stored fields. Here the moment is made to last: the service keeps
its searcher for an hour, and the merge happens while it is held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.index.merging import SEGMENTS_PER_TIER

#: One-article updates: each adds a small segment, and the next update finds a full tier to merge.
PROBES = SEGMENTS_PER_TIER


def segment_files(index_dir: Path) -> set[str]:
    folder = index_dir / IndexStore(index_dir).require_pointer().dir
    return {path.name for path in folder.glob("MAIN_*.col")}


def add_probe(corpus_dir: Path, make_article: Callable[..., Path], number: int) -> str:
    slug = f"lifetime-probe-{number}"
    make_article(
        corpus_dir / "testing", slug=slug, id=970000 + number, title=f"Lifetime probe {number} zygomorphy",
        answer=f"Zygomorphy probe number {number}.",
    )
    return f"/learn/testing/questions/{slug}"


def test_a_held_searcher_survives_a_merge_that_deletes_its_segments(
    corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path]
) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    urls = []
    for number in range(PROBES):  # each update adds one small segment
        urls.append(add_probe(corpus_dir, make_article, number))
        update_index(corpus_dir, index_dir)
    service = SearchService(index_dir, refresh_seconds=3600, semantic=False)
    assert service.article(url=urls[0]) is not None  # the searcher is open now, and kept
    before = segment_files(index_dir)

    urls.append(add_probe(corpus_dir, make_article, PROBES))
    update_index(corpus_dir, index_dir)  # a full tier: the small segments merge, their files go
    gone = before - segment_files(index_dir)
    assert gone, "the update was meant to merge away the segments the searcher holds"

    results = service.search("zygomorphy", per_page=20)
    assert results.total == PROBES  # the held searcher still sees its own generation
    assert results.facets == {"Testing": PROBES}
    assert sorted(hit.url for hit in results.results) == sorted(urls[:PROBES])
    for number, url in enumerate(urls[:PROBES]):
        article = service.article(url=url)
        assert article is not None and article.title == f"Lifetime probe {number} zygomorphy"
    service.close()

    fresh = SearchService(index_dir, semantic=False)
    assert fresh.search("zygomorphy", per_page=20).total == PROBES + 1
    fresh.close()
