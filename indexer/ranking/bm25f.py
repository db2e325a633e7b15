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
from typing import TYPE_CHECKING, Iterable, Iterator

from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

from indexer.index.held import HeldSearcher
from indexer.index.schema import FIELD_BOOSTS, KEYWORD_BOOST
from indexer.index.term_arrays import OMITTED, decoded_blocks
from indexer.ranking.scores import Scores

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
) -> Scores:
    """Score every document holding any of ``words`` (term -> query weight) or ``extra`` (field, term) pairs.

    A word's postings come as arrays from each segment's postings file
    (:mod:`indexer.index.term_arrays`), or from Whoosh's blocks where a segment has
    none, so its contribution to every document holding it is a few numpy operations.
    """
    import numpy as np

    clock = clock or Clock(None)
    searcher = held.searcher
    total_docs = max(searcher.doc_count(), 1)
    averages = {field: searcher.avg_field_length(field) or 1.0 for field in FIELD_BOOSTS}
    scores = np.zeros(searcher.doc_count_all(), dtype=np.float64)
    for text, query_weight in _rarest_first(held, words):
        found = _from_term_arrays(held, text, averages, clock)
        if found is not None:
            _add(scores, *found, total_docs, query_weight)
            continue
        parts = [  # (a segment without its postings file, or a word the file leaves out: Whoosh's postings)
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
    # (every term adds a positive amount to each document holding it; nonzero reads a bool array
    # several times faster than a float one)
    matched = np.flatnonzero(scores != 0)
    return Scores(matched, scores[matched])


def _rarest_first(held: HeldSearcher, words: dict[str, float]) -> list[tuple[str, float]]:
    """The query's words, the rarest first once there are more than a short query has.

    A long question's clock may run out before every word is scored: its
    telling words should be the ones that were.
    """
    if len(words) <= SHORT_QUERY_WORDS:
        return list(words.items())
    frequency = {text: held.most_documents(text, FIELD_BOOSTS) for text in words}
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
    _add(scores, holders, tf, total_docs, boost)


def _add(scores: "np.ndarray", holders: "np.ndarray", tf: "np.ndarray", total_docs: int, boost: float) -> None:
    """Add one term's saturated, idf-weighted score to ``scores``: ``holders`` (distinct) hold it, ``tf``
    their pseudo-frequencies."""
    df = len(holders)
    if not df:
        return
    idf = boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    scores[holders] += idf * tf * (K1 + 1) / (tf + K1)


def _from_term_arrays(
    held: HeldSearcher, text: str, averages: dict[str, float], clock: Clock
) -> "tuple[np.ndarray, np.ndarray] | None":
    """(live documents holding the word in any searched field, their pseudo-frequencies), from every
    segment's postings file; None where a segment has none, or its file leaves the word out.

    A document's field parts are summed in field order, as :func:`_add_saturated` sums them
    (a field without the word adds 0.0, which changes no sum): the same scores, to the bit.
    """
    import numpy as np

    readers = held.searcher.reader().leaf_readers()
    term = held.searcher.schema[next(iter(FIELD_BOOSTS))].to_bytes(text)  # (the searched fields share one analyzer)
    holders: list[np.ndarray] = []
    frequencies: list[np.ndarray] = []
    for leaf, (reader, offset) in enumerate(readers):
        if clock.over():
            break
        arrays = held.term_arrays(leaf)
        found = arrays.postings(term) if arrays is not None else OMITTED
        if found is OMITTED:
            return None
        if found is None:
            continue
        docs, columns = found
        tf: np.ndarray | None = None
        for (field, weight), column in zip(FIELD_BOOSTS.items(), columns):
            if column is not None:
                norms = held.length_norms(leaf, field, FIELD_B.get(field, DEFAULT_B), averages[field])
                part = weight * column / norms[docs]
                tf = part if tf is None else tf + part
        if tf is None:
            continue
        if reader.has_deletions():
            live = ~np.isin(docs, held.deleted_array(leaf), assume_unique=True)
            docs, tf = docs[live], tf[live]
        holders.append(docs + offset)
        frequencies.append(tf)
    if not holders:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return np.concatenate(holders), np.concatenate(frequencies)


def _postings(held: HeldSearcher, field: str, text: str, clock: Clock) -> "Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]":
    """Yield (document numbers, term frequencies, field lengths) of live documents holding the term,
    from Whoosh's postings a block at a time; stops early once ``clock`` has run out."""
    import numpy as np

    for leaf, (reader, offset) in enumerate(held.searcher.reader().leaf_readers()):  # also a single-segment index
        if clock.over():
            return
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        deleted = None
        if isinstance(matcher, FilterMatcher):
            # A segment with deletions wraps its postings in a filter that steps one posting at
            # a time (a third of a search's time after any update): read the postings a block at
            # a time and drop the deleted ones here.
            deleted, matcher = held.deleted_array(leaf), matcher.child
        lengths = held.field_length_array(leaf, field)
        for ids, tfs in decoded_blocks(matcher):
            if clock.over():
                return
            if deleted is not None and len(deleted):
                live = ~np.isin(ids, deleted, assume_unique=True)
                ids, tfs = ids[live], tfs[live]
            yield ids + offset, tfs, lengths[ids]
