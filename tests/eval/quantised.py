"""The large-index layouts against the exact scan, on a judged collection (printed by ``make eval``).

The judged collections are smaller than ``QUANTISE_FROM``, so the product scores
them with exact float32 vectors; this lays the same vectors out as 8-bit codes,
scanned in full or found through a graph of nearest neighbours (what indexes of
``QUANTISE_FROM`` articles and more use), and reports (1) recall@100 of their
nearest articles against the exact ones, query by query, and (2) nDCG@10 with
every search using them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from indexer import IndexStore, SearchService
from indexer.semantic import quantised
from indexer.semantic.neighbours import NEIGHBOURS_FILE, NeighbourGraph, write_neighbours
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import ArticleVectors, DenseMatrix, VectorTable, digest_array

DEPTH = 100


def nearest_recall(service: SearchService, queries: list[str], graph: bool) -> float | None:
    """Mean share of the exact scan's 100 nearest articles that the codes (through the graph) find (None: no vectors)."""
    held, generation = service._pool.acquire()
    layout = generation.semantic_layout(held)
    table, vectors = VectorTable.load(generation.folder), ArticleVectors.load(generation.folder)
    if layout is None or table is None or vectors is None:
        return None
    hashes = held.values("content_hash")
    rows = table.rows_for(hashes)
    found: DenseMatrix | None = QuantisedMatrix(rows, table.vectors)
    if graph:
        found = NeighbourGraph.made(vectors).matrix_for(digest_array(hashes), rows)
    assert found is not None
    shares = []
    for text in queries:
        vector = layout.embed_query(text)
        exact = layout.matrix.nearest(vector, DEPTH, held.searcher)
        shares.append(len(exact.keys() & found.nearest(vector, DEPTH, held.searcher).keys()) / max(1, len(exact)))
    return sum(shares) / max(1, len(shares))


def large_ndcg(index: Path, queries: list[tuple[str, str]], score: Callable[[str, list[int]], float | None], graph: bool) -> float:
    """Mean of ``score(query id, ranked ids)`` over the judged queries, every layout 8-bit (through a graph)."""
    saved = quantised.QUANTISE_FROM
    quantised.QUANTISE_FROM = 0
    folder = index / IndexStore(index).require_pointer().dir
    try:
        if graph:
            vectors = ArticleVectors.load(folder)
            assert vectors is not None
            write_neighbours(folder, vectors)
        with SearchService(index) as service:
            values = [score(query_id, service.ranked_ids(text, DEPTH)) for query_id, text in queries]
    finally:
        quantised.QUANTISE_FROM = saved
        (folder / NEIGHBOURS_FILE).unlink(missing_ok=True)
    judged = [value for value in values if value is not None]
    return sum(judged) / max(1, len(judged))
