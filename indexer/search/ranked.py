"""Which matching articles come first, and in what order.

Whoosh parses the query and decides *which* documents match when the query
has structure (phrases, ``-exclusions``, ``AND``); :func:`rank` decides their
order, by BM25F (:mod:`indexer.ranking.bm25f`) fused with similarity of
meaning where the index has vectors (:mod:`indexer.ranking.fusion`). The API
and the evaluation both come through :func:`rank`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from whoosh import query as wq

from indexer.index.held import HeldSearcher
from indexer.index.schema import FIELD_BOOSTS
from indexer.ranking.bm25f import Clock, bm25f_scores
from indexer.ranking.fusion import Semantic, fuse
from indexer.ranking.scores import Scores
from indexer.search.filters import Passing
from indexer.search.query import positive_terms

__all__ = ["Ranked", "rank"]


@dataclass(frozen=True)
class Ranked:
    hits: list[tuple[int, float]]  # (document number, score), best first
    total: int  # how many documents match in all
    unfiltered: Scores = field(default_factory=Scores.empty)  # every match before ``keep`` (for facet counts)
    partial: bool = False  # the time limit ran out: these are the documents scored in time



def rank(
    held: HeldSearcher,
    q: wq.Query,
    limit: int,
    keep: Passing | None = None,
    time_limit: float | None = None,
    semantic: Semantic | None = None,
    order: Callable[[tuple[int, float]], Any] | None = None,
) -> Ranked:
    """Return the best ``limit`` documents matching ``q`` (those ``keep`` passes), best first.

    With ``time_limit`` (seconds), scoring stops when it runs out and the
    result is marked partial, so no query can hold a worker for long. With
    ``semantic``, a plain query's ranking is fused with similarity of meaning
    (:func:`fuse`); a query with structure (phrases, exclusions, fields) asks
    for exact matches and keeps its lexical order. ``order`` (a key of
    (document number, score) pairs) puts them in another order than by score.
    """
    clock = Clock(time_limit)
    words, extra = _split_terms(positive_terms(q))
    scores = bm25f_scores(held, words, extra, clock)
    plain = _is_plain(q)
    searcher = held.searcher
    if not plain:
        scores = scores.within(_numbers(searcher.docs_for_query(q)))
    elif semantic is not None:
        scores = fuse(scores, semantic)
    unfiltered = scores
    if keep is not None:
        scores = scores.where(keep.mask(scores.docs))
    best = heapq.nsmallest(limit, scores.items(), key=order) if order else scores.top(limit)
    return Ranked(best, len(scores), unfiltered, clock.expired)


def _split_terms(terms: Iterable[tuple[str, str]]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Words of the searched fields (each weighted 1), and terms of other fields.

    In a fixed order: a document's score is summed word by word, and in the order of a
    set (which differs between processes) two web workers' scores differed in the last bit.
    """
    terms = sorted(terms)
    words = {text: 1.0 for field, text in terms if field in FIELD_BOOSTS}
    extra = [(field, text) for field, text in terms if field not in FIELD_BOOSTS]
    return words, extra



def _is_plain(q: wq.Query) -> bool:
    """True for a plain OR of terms: every document holding any term matches."""
    if isinstance(q, wq.Term):
        return True
    return type(q) is wq.Or and all(isinstance(child, wq.Term) or _is_plain(child) for child in q.children())



def _numbers(docnums: Iterable[int]) -> Any:
    import numpy as np

    return np.fromiter(docnums, dtype=np.int64)
