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
from collections import defaultdict
from typing import Any, Iterable, Iterator

from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

from indexer.index.held import HeldSearcher
from indexer.index.schema import FIELD_BOOSTS, KEYWORD_BOOST

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
    """Score every document holding any of ``words`` (term -> query weight) or ``extra`` (field, term) pairs."""
    clock = clock or Clock(None)
    searcher = held.searcher
    total_docs = max(searcher.doc_count(), 1)
    averages = {field: searcher.avg_field_length(field) or 1.0 for field in FIELD_BOOSTS}
    scores: dict[int, float] = defaultdict(float)
    for text, query_weight in _rarest_first(searcher, words):
        pseudo_tf: dict[int, float] = defaultdict(float)
        for field, weight in FIELD_BOOSTS.items():
            b, average = FIELD_B.get(field, DEFAULT_B), averages[field]
            for docnum, tf, length in _postings(held, field, text, clock):
                pseudo_tf[docnum] += weight * tf / (1 - b + b * length / average)
        _add_saturated(scores, pseudo_tf, total_docs, query_weight)
    for field, text in extra:
        average = searcher.avg_field_length(field) or 1.0
        tfs = {docnum: tf / (1 - DEFAULT_B + DEFAULT_B * length / average) for docnum, tf, length in _postings(held, field, text, clock)}
        _add_saturated(scores, tfs, total_docs, KEYWORD_BOOST if field == "keywords" else 1.0)
    return scores



def _rarest_first(searcher: Any, words: dict[str, float]) -> list[tuple[str, float]]:
    """The query's words, the rarest first once there are more than a short query has.

    A long question's clock may run out before every word is scored: its
    telling words should be the ones that were.
    """
    if len(words) <= SHORT_QUERY_WORDS:
        return list(words.items())
    frequency = {text: max(searcher.doc_frequency(field, text) for field in FIELD_BOOSTS) for text in words}
    return sorted(words.items(), key=lambda item: (frequency[item[0]], item[0]))


def _add_saturated(scores: dict[int, float], tfs: dict[int, float], total_docs: int, boost: float) -> None:
    if not tfs:
        return
    df = len(tfs)
    idf = boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    k1 = K1
    for docnum, tf in tfs.items():
        scores[docnum] += idf * tf * (k1 + 1) / (tf + k1)



def _postings(held: HeldSearcher, field: str, text: str, clock: Clock) -> Iterator[tuple[int, float, int]]:
    """Yield (document number, term frequency, field length) for live documents holding the term.

    Stops early once ``clock`` has run out (checked every 1,024 postings).
    """
    for leaf, (reader, offset) in enumerate(held.searcher.reader().leaf_readers()):  # also a single-segment index
        if clock.over():
            return
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        lengths = held.field_lengths(leaf, field)
        deleted: frozenset[int] | set[int] = frozenset()
        if isinstance(matcher, FilterMatcher):
            # A segment with deletions wraps its postings in a filter that steps one posting at
            # a time (a third of a search's time after any update): read the postings a block at
            # a time and skip the deleted ones here.
            deleted, matcher = reader.deleted_docs_set, matcher.child
        for count, (docnum, tf) in enumerate(_items(matcher), start=1):
            if count & 1023 == 0 and clock.over():
                return
            if docnum not in deleted:
                yield docnum + offset, tf, lengths[docnum]



def _items(matcher: Any) -> Iterator[tuple[int, float]]:
    """(id, weight) pairs of a posting list, a whole block at a time where the codec allows."""
    if all(hasattr(matcher, name) for name in ("_read_ids", "_read_weights", "_next_block")):
        # whoosh 2.7's W3 leaf matcher: decode each block once instead of per posting
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            yield from zip(matcher._ids, matcher._weights)
            matcher._next_block()
        return
    while matcher.is_active():
        yield matcher.id(), matcher.weight()
        matcher.next()
