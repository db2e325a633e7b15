"""Ranking: which matching articles come first, and in what order.

Scores are BM25F (Robertson & Zaragoza, "The Probabilistic Relevance
Framework: BM25 and Beyond", 2009): for each query word, its frequencies in
the searched fields are length-normalised per field, weighted by
:data:`~indexer.index.schema.FIELD_BOOSTS` and summed *before* one saturation and
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
import time
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol

from whoosh import query as wq
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher

from indexer.search.query import positive_terms
from indexer.index.schema import FIELD_BOOSTS, KEYWORD_BOOST, unpack_article

__all__ = ["Ranked", "rank", "fuse", "K1", "FIELD_B", "DENSE_WEIGHT", "FUSION_DEPTH"]

#: Term-frequency saturation: how quickly repeats of a word stop adding score.
K1 = 1.2
#: Length normalisation per field (0: none, 1: full); titles are short and even.
FIELD_B: dict[str, float] = {"title": 0.3, "question": 0.3, "keyword_text": 0.3, "answer": 0.75}
DEFAULT_B = 0.75
#: Pseudo-relevance feedback (RM3): documents read (0 = off), terms added, their
#: share of the query. Off: on the judged collections it lifted NFCorpus dev
#: (short queries) but lowered SciFact train (long claims), and the issue keeps
#: it only if it pays on both; see tests/eval/RESULTS.md for the figures.
FEEDBACK_DOCS = 0
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.3
#: Feedback only for queries of at most this many words; long ones drift off topic.
FEEDBACK_MAX_WORDS = 6
#: Whether feedback may bring in documents that hold none of the query's own words.
FEEDBACK_NEW_MATCHES = True
#: (Fusion of the two passes, feedback scaled by query length, rarity-weighted
#: expansion terms, BM25+, query-term frequency and idf powers were measured too,
#: in tests/eval/RESULTS.md steps 8-13; none paid on both collections.)

#: Semantic fusion (when the index has article vectors; tests/eval/RESULTS.md step 14):
#: the best FUSION_DEPTH articles by BM25F and the FUSION_DEPTH nearest by meaning
#: are the candidates; each score is min-max scaled over them, and mixed with this
#: weight on the similarity. Chosen on the train splits (0.5-0.6 on both).
DENSE_WEIGHT = 0.5
FUSION_DEPTH = 100
#: An article that holds none of the query's words joins only if its cosine
#: similarity reaches this; below it, meaning alone is too weak a reason to list
#: it (and "54 results" for a one-word query that 9 articles contain misleads).
DENSE_MIN_SIMILARITY = 0.2

_lengths: "weakref.WeakKeyDictionary[Any, dict[str, list[int]]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Ranked:
    hits: list[tuple[int, float]]  # (document number, score), best first
    total: int  # how many documents match in all
    unfiltered: frozenset[int] = frozenset()  # every match before ``filter_q`` (for facet counts)
    partial: bool = False  # the time limit ran out: these are the documents scored in time


class Clock:
    """A search's time limit, checked between and inside posting lists."""

    def __init__(self, seconds: float | None) -> None:
        self.end = time.monotonic() + seconds if seconds else None
        self.expired = False

    def over(self) -> bool:
        if not self.expired and self.end is not None and time.monotonic() > self.end:
            self.expired = True
        return self.expired


class Semantic(Protocol):
    """A query's similarity to the indexed articles (see :class:`indexer.semantic.vectors.DenseQuery`)."""

    def nearest(self, count: int) -> dict[int, float]: ...

    def similarity(self, docnums: list[int]) -> list[float]: ...


def rank(
    searcher: Searcher,
    q: wq.Query,
    limit: int,
    filter_q: wq.Query | None = None,
    time_limit: float | None = None,
    semantic: Semantic | None = None,
) -> Ranked:
    """Return the best ``limit`` documents matching ``q`` (within ``filter_q``), best first.

    With ``time_limit`` (seconds), scoring stops when it runs out and the
    result is marked partial, so no query can hold a worker for long. With
    ``semantic``, a plain query's ranking is fused with similarity of meaning
    (:func:`fuse`); a query with structure (phrases, exclusions, fields) asks
    for exact matches and keeps its lexical order.
    """
    clock = Clock(time_limit)
    words, extra = _split_terms(positive_terms(q))
    scores = bm25f_scores(searcher, words, extra, clock)
    plain = _is_plain(q)
    if plain and FEEDBACK_DOCS and scores and len(words) <= FEEDBACK_MAX_WORDS:
        expanded = feedback_words(searcher, scores, words)
        if expanded != words:
            fed = bm25f_scores(searcher, expanded, extra, clock)
            scores = fed if FEEDBACK_NEW_MATCHES else {docnum: fed[docnum] for docnum in scores}
    if not plain:
        scores = _restrict(scores, searcher.docs_for_query(q))
    elif semantic is not None:
        scores = fuse(scores, semantic)
    unfiltered = frozenset(scores)
    if filter_q is not None:
        scores = _restrict(scores, searcher.docs_for_query(filter_q))
    best = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
    return Ranked(best, len(scores), unfiltered, clock.expired)


def fuse(scores: dict[int, float], semantic: Semantic, depth: int | None = None, weight: float | None = None) -> dict[int, float]:
    """Mix BM25F with similarity of meaning: new scores, candidates first.

    The candidates (the ``depth`` best by each, default :data:`FUSION_DEPTH`) get
    1 + the mixed score, in [1, 2]; the other lexical matches keep their order
    below them, scaled into [0, 1), so every match is still listed and counted.
    (Defaults are read at call time, so tests/eval/tune.py can vary them.)
    """
    depth = FUSION_DEPTH if depth is None else depth
    weight = DENSE_WEIGHT if weight is None else weight
    lexical_best = heapq.nsmallest(depth, scores.items(), key=lambda item: (-item[1], item[0]))
    nearest = {docnum: cosine for docnum, cosine in semantic.nearest(depth).items() if docnum in scores or cosine >= DENSE_MIN_SIMILARITY}
    candidates = list(dict.fromkeys([docnum for docnum, _ in lexical_best] + list(nearest)))
    if not candidates:
        return scores
    missing = [docnum for docnum in candidates if docnum not in nearest]
    similarity = {**dict(zip(missing, semantic.similarity(missing))), **nearest}
    lexical = _min_max([scores.get(docnum, 0.0) for docnum in candidates])
    meaning = _min_max([similarity[docnum] for docnum in candidates])
    fused = {docnum: 1.0 + (1.0 - weight) * lex + weight * sim for docnum, lex, sim in zip(candidates, lexical, meaning)}
    top = max(scores.values(), default=0.0)
    for docnum, score in scores.items():
        if docnum not in fused:
            fused[docnum] = 0.999 * score / top if top > 0 else 0.0
    return fused


def _min_max(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    return [(value - low) / (high - low) for value in values] if high > low else [0.0] * len(values)


def _split_terms(terms: Iterable[tuple[str, str]]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Words of the searched fields (each weighted 1), and terms of other fields."""
    words = {text: 1.0 for field, text in terms if field in FIELD_BOOSTS}
    extra = sorted((field, text) for field, text in terms if field not in FIELD_BOOSTS)
    return words, extra


def bm25f_scores(
    searcher: Searcher, words: dict[str, float], extra: Iterable[tuple[str, str]] = (), clock: Clock | None = None
) -> dict[int, float]:
    """Score every document holding any of ``words`` (term -> query weight) or ``extra`` (field, term) pairs."""
    clock = clock or Clock(None)
    total_docs = max(searcher.doc_count(), 1)
    averages = {field: searcher.avg_field_length(field) or 1.0 for field in FIELD_BOOSTS}
    scores: dict[int, float] = defaultdict(float)
    for text, query_weight in words.items():
        pseudo_tf: dict[int, float] = defaultdict(float)
        for field, weight in FIELD_BOOSTS.items():
            b, average = FIELD_B.get(field, DEFAULT_B), averages[field]
            for docnum, tf, length in _postings(searcher, field, text, clock):
                pseudo_tf[docnum] += weight * tf / (1 - b + b * length / average)
        _add_saturated(scores, pseudo_tf, total_docs, query_weight)
    for field, text in extra:
        average = searcher.avg_field_length(field) or 1.0
        tfs = {docnum: tf / (1 - DEFAULT_B + DEFAULT_B * length / average) for docnum, tf, length in _postings(searcher, field, text, clock)}
        _add_saturated(scores, tfs, total_docs, KEYWORD_BOOST if field == "keywords" else 1.0)
    return scores


def feedback_words(searcher: Searcher, scores: dict[int, float], words: dict[str, float]) -> dict[str, float]:
    """Expand ``words`` with the key terms of the best-scored documents (RM3).

    Each of the top :data:`FEEDBACK_DOCS` documents votes for its terms in
    proportion to its score and to the term's share of its text; the
    :data:`FEEDBACK_TERMS` best-voted terms are mixed into the query with
    weight :data:`FEEDBACK_WEIGHT` (the query's own words keep the rest).
    """
    top = heapq.nsmallest(FEEDBACK_DOCS, scores.items(), key=lambda item: (-item[1], item[0]))
    norm = sum(score for _, score in top) or 1.0
    model: dict[str, float] = defaultdict(float)
    for docnum, score in top:
        counts, length = _document_terms(searcher, docnum)
        for text, count in counts.items():
            model[text] += (score / norm) * count / length
    chosen = heapq.nlargest(FEEDBACK_TERMS, ((weight, text) for text, weight in model.items() if _useful(text)))
    mass = sum(weight for weight, _ in chosen) or 1.0
    size = sum(words.values()) or 1
    share = FEEDBACK_WEIGHT
    expanded = {text: (1 - share) * weight for text, weight in words.items()}
    for weight, text in chosen:
        # the query model gives each of its words 1/size; scale so an original word weighs ~1
        expanded[text] = expanded.get(text, 0.0) + share * size * weight / mass
    return expanded


_doc_terms: "weakref.WeakKeyDictionary[Any, dict[int, tuple[Counter, int]]]" = weakref.WeakKeyDictionary()
#: Documents whose analysed text is kept per open index (feedback reads the same top documents often).
DOC_TERMS_CACHE = 20_000


def _document_terms(searcher: Searcher, docnum: int) -> tuple[Counter, int]:
    """A document's title and answer as term counts, and their total, cached per open reader."""
    cache = _doc_terms.setdefault(searcher.reader(), {})
    found = cache.get(docnum)
    if found is None:
        data = unpack_article(searcher.stored_fields(docnum))
        analyzer = searcher.schema["answer"].analyzer
        counts = Counter(token.text for token in analyzer(f"{data.get('title', '')}\n{data.get('answer', '')}"))
        found = counts, sum(counts.values()) or 1
        if len(cache) >= DOC_TERMS_CACHE:
            cache.clear()
        cache[docnum] = found
    return found


def _useful(term: str) -> bool:
    return len(term) > 1 and not term.isdigit()


def _add_saturated(scores: dict[int, float], tfs: dict[int, float], total_docs: int, boost: float) -> None:
    if not tfs:
        return
    df = len(tfs)
    idf = boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    k1 = K1
    for docnum, tf in tfs.items():
        scores[docnum] += idf * tf * (k1 + 1) / (tf + k1)


def _postings(searcher: Searcher, field: str, text: str, clock: Clock) -> Iterator[tuple[int, float, int]]:
    """Yield (document number, term frequency, field length) for live documents holding the term.

    Stops early once ``clock`` has run out (checked every 1,024 postings).
    """
    for reader, offset in searcher.reader().leaf_readers():  # also a single-segment index
        if clock.over():
            return
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        lengths = _field_lengths(reader, field)
        deleted = reader.is_deleted if reader.has_deletions() else None
        for count, (docnum, tf) in enumerate(_items(matcher), start=1):
            if count & 1023 == 0 and clock.over():
                return
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
