"""BM25F: how well an article's words match the query's.

Scores are BM25F (Robertson & Zaragoza, "The Probabilistic Relevance
Framework: BM25 and Beyond", 2009): for each query word, its frequencies in
the searched fields are length-normalised per field, weighted by
:data:`~indexer.index.schema.FIELD_BOOSTS` and summed *before* one saturation and
one document-level idf. Whoosh's own ``BM25F`` instead adds up a separate
BM25 per field, each with that field's idf, so a word that is rare in titles
but common in answers scores as if it were rare; measured on the judged
collections (``tests/eval/RESULTS.md``) that ranked well below plain BM25.
(RM3 feedback, BM25+, proximity and idf powers were measured too, in steps
8-13 there; none paid on both collections, so none is here.)
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

from indexer.index.held import HeldSearcher
from indexer.index.schema import FIELD_BOOSTS, KEYWORD_BOOST

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Clock", "bm25f_scores", "K1", "FIELD_B", "DEFAULT_B", "SHORT_QUERY_WORDS"]

#: Up to this many words a query is scored in the order typed (a typed query's
#: cost is small); past it, the rarest words first (a pasted question's).
SHORT_QUERY_WORDS = 32

#: Term-frequency saturation: how quickly repeats of a word stop adding score.
K1 = 1.2

#: Length normalisation per field (0: none, 1: full); titles are short and even.
FIELD_B: dict[str, float] = {"title": 0.3, "question": 0.3, "keyword_text": 0.3, "answer": 0.75}

DEFAULT_B = 0.75



class Clock:
    """A search's time limit, checked between and inside posting lists."""

    def __init__(self, seconds: float | None) -> None:
        self.end = time.monotonic() + seconds if seconds else None
        self.expired = False

    def over(self) -> bool:
        if not self.expired and self.end is not None and time.monotonic() > self.end:
            self.expired = True
        return self.expired



def bm25f_scores(
    held: HeldSearcher, words: dict[str, float], extra: Iterable[tuple[str, str]] = (), clock: Clock | None = None
) -> dict[int, float]:
    """Score every document holding any of ``words`` (term -> query weight) or ``extra`` (field, term) pairs.

    Each term's postings are read a block at a time into arrays, so a term's
    contribution to every document holding it is a few numpy operations.
    """
    import numpy as np

    clock = clock or Clock(None)
    searcher = held.searcher
    total_docs = max(searcher.doc_count(), 1)
    averages = {field: searcher.avg_field_length(field) or 1.0 for field in FIELD_BOOSTS}
    scores = np.zeros(searcher.doc_count_all(), dtype=np.float64)
    for text, query_weight in _rarest_first(searcher, words):
        parts = [
            (docnums, weight * tfs / (1 - b + b * lengths / averages[field]))
            for field, weight in FIELD_BOOSTS.items()
            for b in (FIELD_B.get(field, DEFAULT_B),)
            for docnums, tfs, lengths in _postings(held, field, text, clock)
        ]
        _add_saturated(scores, parts, total_docs, query_weight)
    for field, text in extra:
        average = searcher.avg_field_length(field) or 1.0
        parts = [(docnums, tfs / (1 - DEFAULT_B + DEFAULT_B * lengths / average))
                 for docnums, tfs, lengths in _postings(held, field, text, clock)]
        _add_saturated(scores, parts, total_docs, KEYWORD_BOOST if field == "keywords" else 1.0)
    matched = np.flatnonzero(scores)  # (every term adds a positive amount to each document holding it)
    return dict(zip(matched.tolist(), scores[matched].tolist()))


def _rarest_first(searcher: Any, words: dict[str, float]) -> list[tuple[str, float]]:
    """The query's words, the rarest first once there are more than a short query has.

    A long question's clock may run out before every word is scored: its
    telling words should be the ones that were.
    """
    if len(words) <= SHORT_QUERY_WORDS:
        return list(words.items())
    frequency = {text: max(searcher.doc_frequency(field, text) for field in FIELD_BOOSTS) for text in words}
    return sorted(words.items(), key=lambda item: (frequency[item[0]], item[0]))


def _add_saturated(scores: "np.ndarray", parts: "list[tuple[np.ndarray, np.ndarray]]", total_docs: int, boost: float) -> None:
    """Add one term's saturated, idf-weighted score to ``scores``, from its (documents, pseudo-frequencies) by field.

    A document's pseudo-frequencies are summed in field order, as the formula adds them.
    """
    import numpy as np

    if not parts:
        return
    docnums = np.concatenate([docnums for docnums, _ in parts])
    if not len(docnums):
        return
    holders, which = np.unique(docnums, return_inverse=True)
    tf = np.bincount(which, weights=np.concatenate([values for _, values in parts]), minlength=len(holders))
    df = len(holders)
    idf = boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    scores[holders] += idf * tf * (K1 + 1) / (tf + K1)


def _postings(held: HeldSearcher, field: str, text: str, clock: Clock) -> "Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]":
    """Yield (document numbers, term frequencies, field lengths) of live documents holding the term, a block at a time.

    Stops early once ``clock`` has run out (checked at every block).
    """
    import numpy as np

    for leaf, (reader, offset) in enumerate(held.searcher.reader().leaf_readers()):  # also a single-segment index
        if clock.over():
            return
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        lengths = held.field_length_array(leaf, field)
        deleted = None
        if isinstance(matcher, FilterMatcher):
            # A segment with deletions wraps its postings in a filter that steps one posting at
            # a time (a third of a search's time after any update): read the postings a block at
            # a time and drop the deleted ones here.
            deleted, matcher = held.deleted_array(leaf), matcher.child
        for ids, tfs in _blocks(matcher):
            if clock.over():
                return
            if deleted is not None and len(deleted):
                live = ~np.isin(ids, deleted, assume_unique=True)
                ids, tfs = ids[live], tfs[live]
            yield ids + offset, tfs, lengths[ids]


def _blocks(matcher: Any) -> "Iterator[tuple[np.ndarray, np.ndarray]]":
    """(ids, weights) arrays of a posting list, one block at a time where the codec allows."""
    import numpy as np

    if all(hasattr(matcher, name) for name in ("_read_data", "_data", "_byteids", "_next_block")) and not matcher._byteids:
        # whoosh 2.7's W3 leaf matcher: decode each block's data ourselves, as arrays (its own
        # decoding adds up the id deltas and fills default weights one posting at a time)
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            ids, weights = matcher._data[0], matcher._data[1]
            ids = np.cumsum(np.asarray(ids, dtype=np.int64))  # (stored as deltas)
            if weights is None or isinstance(weights, float):
                tfs = np.full(len(ids), 1.0 if weights is None else weights)
            else:
                tfs = np.asarray(weights, dtype=np.float64)
            yield ids, tfs
            matcher._next_block()
        return
    docnums: list[int] = []
    frequencies: list[float] = []
    while matcher.is_active():
        docnums.append(matcher.id())
        frequencies.append(matcher.weight())
        matcher.next()
    if docnums:
        yield np.asarray(docnums, dtype=np.int64), np.asarray(frequencies, dtype=np.float64)
