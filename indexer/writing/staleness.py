"""How far the corpus has moved since the live index was written, without writing anything.

``serve`` asks this once at start, so a maintainer who edited articles and
forgot ``index update`` is told so in the log instead of wondering why a page
is old. It reads what an update would read (the ledger, a ``stat`` per file,
the content of files whose ``stat`` changed) and stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.corpus.articles import ArticleError
from indexer.corpus.files import CorpusError, content_hash, read_bytes, scan_files
from indexer.index.ledger import FileLedger
from indexer.index.store import IndexStore

__all__ = ["Staleness", "corpus_changes"]


@dataclass(frozen=True)
class Staleness:
    """Articles on disk that the live index does not hold as they are."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def behind(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.removed} removed"


def corpus_changes(corpus: Path, index: Path) -> Staleness | None:
    """The articles added, changed and removed since the index was written; None when it cannot tell.

    It cannot tell without an index, without a corpus folder, or when the
    index keeps no ledger for its live commit (an update would then hash every
    file, which is too slow to do at start).
    """
    store = IndexStore(index)
    pointer = store.pointer()
    if pointer is None:
        return None
    ix = store.open(pointer)
    try:
        ledger = FileLedger.load(Path(ix.storage.folder), ix.latest_generation())
    finally:
        ix.close()
    if ledger is None:
        return None
    try:
        listing = scan_files(corpus, ledger.unchanged_check())
    except CorpusError:
        return None
    added = changed = 0
    for file in listing.files:
        known = ledger.get(file.relpath)
        if known is None:
            added += 1
            continue
        try:
            if content_hash(read_bytes(file)) != known[3]:
                changed += 1
        except ArticleError:
            changed += 1  # unreadable now: an update would report it
    on_disk = set(listing.paths)
    removed = sum(path not in on_disk for path in ledger)
    return Staleness(added, changed, removed)
