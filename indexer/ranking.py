"""Ranking: which matching articles come first, and in what order.

Scores are BM25F (Robertson & Zaragoza, "The Probabilistic Relevance
Framework: BM25 and Beyond", 2009): for each query word, its frequencies in
the searched fields are length-normalised per field, weighted by
:data:`~indexer.schema.FIELD_BOOSTS` and summed *before* one saturation and
one document-level idf. Whoosh's own ``BM25F`` instead adds up a separate
BM25 per field, each with that field's idf, so a word that is rare in titles
but common in answers scores as if it were rare; measured on the judged
collections (``tests/eval/RESULTS.md``) that ranked well below plain BM25.

Whoosh still parses the query and decides *which* documents match when the
query has structure (phrases, ``-exclusions``, ``AND``); this module decides
their order. :meth:`SearchService.search` (the API) and
:meth:`SearchService.ranked_ids` (the evaluation) both come through
:func:`rank`.
"""

from __future__ import annotations

import heapq
import math
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from whoosh import query as wq
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher

from .query import ParsedQuery, positive_terms
from .schema import FIELD_BOOSTS, KEYWORD_BOOST

__all__ = ["Ranked", "rank", "K1", "FIELD_B"]

#: Term-frequency saturation: how quickly repeats of a word stop adding score.
K1 = 1.2
#: Length normalisation per field (0: none, 1: full); titles are short and even.
FIELD_B: dict[str, float] = {"title": 0.3, "question": 0.3, "keyword_text": 0.3, "answer": 0.75}
DEFAULT_B = 0.75

_lengths: "weakref.WeakKeyDictionary[Any, dict[str, list[int]]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Ranked:
    hits: list[tuple[int, float]]  # (document number, score), best first
    total: int  # how many documents match in all


def rank(searcher: Searcher, q: wq.Query, parsed: ParsedQuery, limit: int, filter_q: wq.Query | None = None) -> Ranked:
    """Return the best ``limit`` documents matching ``q`` (within ``filter_q``), best first."""
    scores = bm25f_scores(searcher, positive_terms(q))
    if not _is_plain(q):
        scores = _restrict(scores, searcher.docs_for_query(q))
    if filter_q is not None:
        scores = _restrict(scores, searcher.docs_for_query(filter_q))
    best = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
    return Ranked(best, len(scores))


def bm25f_scores(searcher: Searcher, terms: Iterable[tuple[str, str]]) -> dict[int, float]:
    """Score every document holding any of ``terms`` ((field, term) pairs)."""
    words: dict[str, list[str]] = defaultdict(list)
    extra: list[tuple[str, str]] = []
    for field, text in terms:
        if field in FIELD_BOOSTS:
            words[text].append(field)
        else:
            extra.append((field, text))
    total_docs = max(searcher.doc_count(), 1)
    averages = {field: searcher.avg_field_length(field) or 1.0 for field in FIELD_BOOSTS}
    scores: dict[int, float] = defaultdict(float)
    for text, fields in words.items():
        pseudo_tf: dict[int, float] = defaultdict(float)
        for field in fields:
            weight, b, average = FIELD_BOOSTS[field], FIELD_B.get(field, DEFAULT_B), averages[field]
            for docnum, tf, length in _postings(searcher, field, text):
                pseudo_tf[docnum] += weight * tf / (1 - b + b * length / average)
        _add_saturated(scores, pseudo_tf, total_docs, 1.0)
    for field, text in extra:
        average = searcher.avg_field_length(field) or 1.0
        tfs = {docnum: tf / (1 - DEFAULT_B + DEFAULT_B * length / average) for docnum, tf, length in _postings(searcher, field, text)}
        _add_saturated(scores, tfs, total_docs, KEYWORD_BOOST if field == "keywords" else 1.0)
    return scores


def _add_saturated(scores: dict[int, float], tfs: dict[int, float], total_docs: int, boost: float) -> None:
    if not tfs:
        return
    df = len(tfs)
    idf = boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    k1 = K1
    for docnum, tf in tfs.items():
        scores[docnum] += idf * tf * (k1 + 1) / (tf + k1)


def _postings(searcher: Searcher, field: str, text: str) -> Iterator[tuple[int, float, int]]:
    """Yield (document number, term frequency, field length) for live documents holding the term."""
    for reader, offset in searcher.leafreaders:
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        lengths = _field_lengths(reader, field)
        deleted = reader.is_deleted if reader.has_deletions() else None
        for docnum, tf in _items(matcher):
            if deleted is None or not deleted(docnum):
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


def _field_lengths(reader: IndexReader, field: str) -> list[int]:
    """Every document's length in ``field``, read once per segment reader."""
    per_field = _lengths.setdefault(reader, {})
    if field not in per_field:
        per_field[field] = [reader.doc_field_length(docnum, field, 0) for docnum in range(reader.doc_count_all())]
    return per_field[field]


def _is_plain(q: wq.Query) -> bool:
    """True for a plain OR of terms: every document holding any term matches."""
    if isinstance(q, wq.Term):
        return True
    return type(q) is wq.Or and all(isinstance(child, wq.Term) or _is_plain(child) for child in q.children())


def _restrict(scores: dict[int, float], allowed: Iterable[int]) -> dict[int, float]:
    return {docnum: scores[docnum] for docnum in allowed if docnum in scores}
