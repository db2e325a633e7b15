"""Fusion: BM25F mixed with similarity of meaning, when the index has article vectors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from indexer.ranking.scores import Scores

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Semantic", "fuse", "SEMANTIC_WEIGHT", "FUSION_DEPTH", "SEMANTIC_MIN_SIMILARITY", "FEEDBACK_DOCS", "FEEDBACK_WEIGHT", "FIRST_NEAR", "FUSION_POWER"]

#: Semantic fusion (when the index has article vectors; tests/eval/RESULTS.md step 14):
#: the best FUSION_DEPTH articles by BM25F and the FUSION_DEPTH nearest by meaning
#: are the candidates; each score is min-max scaled over them, and mixed with this
#: weight on the similarity. Chosen on the train splits (0.5-0.6 on both).
SEMANTIC_WEIGHT = 0.5

FUSION_DEPTH = 100

#: An article that holds none of the query's words joins only if its cosine
#: similarity reaches this; below it, meaning alone is too weak a reason to list
#: it (and "54 results" for a one-word query that 9 articles contain misleads).
SEMANTIC_MIN_SIMILARITY = 0.2
#: Feedback in the space of meaning (Rocchio on article vectors): after the first fusion the
#: query vector moves towards the mean vector of its best FEEDBACK_DOCS articles by
#: FEEDBACK_WEIGHT, and the fusion is done again. The fitted query vector is a rough reading
#: of the query; the best articles' own model vectors correct it. Train splits, 2 articles,
#: 0.5: NFCorpus 1.079x -> 1.089x, SciFact 1.048x -> 1.049x; NFCorpus dev 1.123x -> 1.141x
#: (tests/eval/RESULTS.md, step 19). More articles or more weight lowered SciFact.
FEEDBACK_DOCS = 2
FEEDBACK_WEIGHT = 0.5
#: The nearest articles by meaning that join the first fusion, whose only use is its best
#: FEEDBACK_DOCS: 20 ranks as 100 did (train splits: NFCorpus 1.092x -> 1.094x, SciFact 1.050x
#: both; tests/eval/RESULTS.md, step 27), and a graph finds 20 in a fraction of the time.
FIRST_NEAR = 20
#: Each min-max scaled score is raised to this power before the two are mixed. Above 1, a
#: candidate near the top of either list counts for more than one midway in both: 3 lifted both
#: train splits (NFCorpus 1.096x -> 1.103x, SciFact 1.050x -> 1.054x, Recall@100 up on both) and
#: NFCorpus dev (1.142x -> 1.148x), but on the sample corpus it puts the TCP/UDP article (network
#: switches) above the thermostat for "automatic heater switch", from 1.5 up; so 1, until a rule
#: keeps both (tests/eval/RESULTS.md, step 29).
FUSION_POWER = 1.0


class Semantic(Protocol):
    """A query's similarity to the indexed articles (see :class:`indexer.semantic.vectors.SemanticQuery`)."""

    def nearest(self, count: int) -> dict[int, float]: ...

    def similarity(self, docnums: list[int]) -> list[float]: ...

    def refined(self, docnums: list[int], weight: float) -> "Semantic": ...



def fuse(scores: Scores, semantic: Semantic, depth: int | None = None, weight: float | None = None) -> Scores:
    """Mix BM25F with similarity of meaning: new scores, candidates first.

    The candidates (the ``depth`` best by each, default :data:`FUSION_DEPTH`) get
    1 + the mixed score, in [1, 2]; the other lexical matches keep their order
    below them, scaled into [0, 1), so every match is still listed and counted.
    With :data:`FEEDBACK_DOCS`, the query vector is then moved towards the best
    candidates' vectors and the fusion done again.
    (Defaults are read at call time, so tests/eval/tune.py can vary them.)
    """
    depth = FUSION_DEPTH if depth is None else depth
    weight = SEMANTIC_WEIGHT if weight is None else weight
    # The lexical side is the same for both fusions: chosen once; the other matches are
    # scaled in once, after the last fusion (the best candidates always score above them).
    lexical = _Lexical(scores, depth)
    mixed = _mixed(scores, semantic, lexical, min(FIRST_NEAR, depth) if FEEDBACK_DOCS else depth, weight)
    if FEEDBACK_DOCS and len(mixed):
        best, _ = mixed.best(FEEDBACK_DOCS)
        mixed = _mixed(scores, semantic.refined(best.tolist(), FEEDBACK_WEIGHT), lexical, depth, weight)
    if not len(mixed):
        return scores
    top = float(scores.values.max()) if len(scores) else 0.0
    below = Scores(scores.docs, 0.999 * scores.values / top if top > 0 else 0.0 * scores.values)
    return below.updated(mixed)


class _Lexical:
    """The best ``depth`` documents by BM25F, as arrays: both fusions take their candidates from them."""

    def __init__(self, scores: Scores, depth: int) -> None:
        self.docs, self.values = scores.best(depth)


def _mixed(scores: Scores, semantic: Semantic, lexical: _Lexical, near_count: int, weight: float) -> Scores:
    """The candidates' fused scores, in [1, 2] (none when there are no candidates): the lexical
    best and the ``near_count`` nearest by meaning."""
    import numpy as np

    near = semantic.nearest(near_count)
    near_docs = np.fromiter(near.keys(), dtype=np.int64, count=len(near))
    near_cosines = np.fromiter(near.values(), dtype=np.float64, count=len(near))
    matched, near_scores = scores.lookup(near_docs)
    kept = matched | (near_cosines >= SEMANTIC_MIN_SIMILARITY)
    near_docs, near_cosines, near_scores = near_docs[kept], near_cosines[kept], near_scores[kept]
    # The lexical best that are not near, in their order (a sorted search: np.isin sorts both sides).
    ordered = np.sort(near_docs)
    at = np.minimum(np.searchsorted(ordered, lexical.docs), max(len(ordered) - 1, 0))
    absent = ordered[at] != lexical.docs if len(ordered) else np.ones(len(lexical.docs), dtype=bool)
    missing = lexical.docs[absent]
    candidates = np.concatenate([missing, near_docs])
    if not len(candidates):
        return Scores.empty()
    similarity = np.concatenate([np.asarray(semantic.similarity(missing.tolist()), dtype=np.float64), near_cosines])
    words = np.concatenate([lexical.values[absent], near_scores])  # (each candidate's BM25F score, as looked up)
    by_words, by_meaning = _min_max(words), _min_max(similarity)
    if FUSION_POWER != 1.0:
        by_words, by_meaning = by_words**FUSION_POWER, by_meaning**FUSION_POWER
    mixed = 1.0 + (1.0 - weight) * by_words + weight * by_meaning
    order = np.argsort(candidates)
    return Scores(candidates[order], mixed[order])


def _min_max(values: "np.ndarray") -> "np.ndarray":
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else 0.0 * values
