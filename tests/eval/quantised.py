"""The 8-bit scan of large indexes against the exact one, on a judged collection (printed by ``make eval``).

The judged collections are smaller than ``QUANTISE_FROM``, so the product scores
them with exact float32 vectors; this lays the same vectors out as 8-bit codes
too and reports (1) recall@100 of the quantised nearest articles against the
exact ones, query by query, and (2) nDCG@10 with every search using the codes.
"""

from __future__ import annotations

from typing import Callable

from indexer import SearchService
from indexer.semantic import quantised
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import VectorTable

DEPTH = 100


def nearest_recall(service: SearchService, queries: list[str]) -> float | None:
    """Mean share of the exact scan's 100 nearest articles that the quantised scan finds (None: no vectors)."""
    held, generation = service._pool.acquire()
    layout = generation.semantic_layout(held)
    table = VectorTable.load(generation.folder)
    if layout is None or table is None:
        return None
    codes = QuantisedMatrix(table.rows_for(held.values("content_hash")), table.vectors)
    shares = []
    for text in queries:
        vector = layout.embed_query(text)
        exact = layout.matrix.nearest(vector, DEPTH, held.searcher)
        shares.append(len(exact.keys() & codes.nearest(vector, DEPTH, held.searcher).keys()) / max(1, len(exact)))
    return sum(shares) / max(1, len(shares))


def quantised_ndcg(index: object, queries: list[tuple[str, str]], score: Callable[[str, list[int]], float | None]) -> float:
    """Mean of ``score(query id, ranked ids)`` over the judged queries, with every layout quantised."""
    saved = quantised.QUANTISE_FROM
    quantised.QUANTISE_FROM = 0
    try:
        with SearchService(index) as service:  # type: ignore[arg-type]
            values = [score(query_id, service.ranked_ids(text, DEPTH)) for query_id, text in queries]
    finally:
        quantised.QUANTISE_FROM = saved
    judged = [value for value in values if value is not None]
    return sum(judged) / max(1, len(judged))
