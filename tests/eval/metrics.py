"""Ranking metrics with trec_eval semantics (as BEIR scores them with pytrec_eval).

``qrels`` map a document id to its judged relevance; a relevance of 0 (or a
document not judged) counts as not relevant. Rankings are lists of document
ids, best first; a document listed twice counts once, where it first appears.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

Qrels = Mapping[str, int]


def _dedup(ranking: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain: gain at rank r (1-based) divided by log2(r + 1)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at(ranking: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    """nDCG@k with graded gains; the ideal ranking sorts every judged-relevant document."""
    ideal = dcg(sorted((rel for rel in qrels.values() if rel > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(max(qrels.get(doc, 0), 0) for doc in _dedup(ranking)[:k]) / ideal


def mrr_at(ranking: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top ``k`` (0 if none)."""
    for rank, doc in enumerate(_dedup(ranking)[:k], start=1):
        if qrels.get(doc, 0) >= 1:
            return 1.0 / rank
    return 0.0


def recall_at(ranking: Sequence[str], qrels: Qrels, k: int = 100) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = {doc for doc, rel in qrels.items() if rel >= 1}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_dedup(ranking)[:k])) / len(relevant)


def has_relevant(qrels: Qrels) -> bool:
    """Whether a query counts in the averages (at least one relevant document)."""
    return any(rel >= 1 for rel in qrels.values())


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
