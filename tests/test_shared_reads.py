"""A worker's threads share what their searchers read once (columns, field lengths, facet codes) per commit.

Each thread holds its own Whoosh searcher; what a searcher reads once is a
list or array a document long, identical for every searcher of one commit.
Kept per thread it cost a worker 10-15 MB a thread at 100,000 articles.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from indexer import SearchService, build_index, update_index
from indexer.index.held import HeldSearcher


def held_by_new_threads(service: SearchService, count: int) -> list[HeldSearcher]:
    """Search once from each of ``count`` new threads (all alive at once); the searcher each used."""
    helds: list[HeldSearcher] = []
    started, done = threading.Barrier(count), threading.Event()

    def search() -> None:
        service.search("drug tolerance")
        helds.append(service._pool.acquire()[0])
        started.wait(10)
        done.wait(10)

    threads = [threading.Thread(target=search) for _ in range(count)]
    for thread in threads:
        thread.start()
    while len(helds) < count and any(thread.is_alive() for thread in threads):
        threading.Event().wait(0.01)
    done.set()
    for thread in threads:
        thread.join(10)
    return helds


def test_threads_of_one_commit_share_what_they_read_and_a_new_commit_starts_afresh(
    corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path]
) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    with SearchService(index, refresh_seconds=0) as service:
        first, second = held_by_new_threads(service, 2)
        assert first is not second and first._read is second._read
        read: dict[Any, Any] = first._read
        assert any(key[:2] == ("codes", "subject") for key in read) and any(key[0] == "lengths" for key in read)
        make_article(corpus_dir / "testing", slug="shared-reads", id=990_201, title="What is a quokkashare?",
                     answer="A quokkashare is read once per commit.")
        update_index(corpus_dir, index)
        (after,) = held_by_new_threads(service, 1)
        assert after.commit > first.commit and after._read is not read
        assert service.search("quokkashare").total == 1
