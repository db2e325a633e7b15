"""Each layout of the article vectors against the exact scan, on a judged collection (printed by ``make eval``).

A search by meaning reaches the article vectors in one of three ways, by the
index's size: the exact float32 matrix (below ``GRAPH_FROM`` articles), the
generation's graph of nearest neighbours over 8-bit codes (from there on), or,
where a generation lacks its graph, the 8-bit codes scanned whole (from
``QUANTISE_FROM``). This lays the same vectors out each way and reports (1)
recall@100 of each layout's nearest articles against the exact ones, query by
query, and (2) nDCG@10 with every search using that layout.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Callable, Iterator

from indexer import SearchService
from indexer.semantic import neighbours, quantised
from indexer.semantic.neighbours import NeighbourGraph
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import ArticleVectors, DenseMatrix, SemanticQuery, VectorMatrix, VectorTable, digest_array

DEPTH = 100
LAYOUTS = {"exact": "exact float32 scan", "codes": "8-bit codes, scanned (coarse codes first)", "graph": "8-bit codes through the graph of neighbours"}


@contextlib.contextmanager
def laid_out(layout: str) -> Iterator[None]:
    """Searchers opened inside use ``layout`` whatever the index's size (the thresholds are read at layout)."""
    saved = neighbours.GRAPH_FROM, quantised.QUANTISE_FROM, quantised.COARSE_FROM, quantised.COARSE_IN_BACKGROUND
    neighbours.GRAPH_FROM = 0 if layout == "graph" else math.inf  # type: ignore[assignment]
    quantised.QUANTISE_FROM = 0 if layout == "codes" else math.inf  # type: ignore[assignment]
    quantised.COARSE_FROM = 0  # (the codes are scanned as a large index scans them: coarse codes first,
    quantised.COARSE_IN_BACKGROUND = False  # made before the first search, so every search here reads them)
    try:
        yield
    finally:
        neighbours.GRAPH_FROM, quantised.QUANTISE_FROM, quantised.COARSE_FROM, quantised.COARSE_IN_BACKGROUND = saved


def nearest_recall(service: SearchService, queries: list[str], layout: str) -> float | None:
    """Mean share of the exact scan's 100 nearest articles that ``layout`` finds (None: no vectors)."""
    held, generation = service._pool.acquire()
    semantic = generation.semantic_layout(held)
    table, vectors = VectorTable.load(generation.folder), ArticleVectors.load(generation.folder)
    if semantic is None or table is None or vectors is None:
        return None
    hashes = held.values("content_hash")
    rows = table.rows_for(hashes)
    exact = VectorMatrix.exact(rows, table.vectors)
    found: DenseMatrix | None = exact
    if layout == "codes":
        with laid_out(layout):
            found = QuantisedMatrix(rows, table.vectors)
    elif layout == "graph":
        graph = NeighbourGraph.load(generation.folder) or NeighbourGraph.made(vectors)
        found = graph.matrix_for(digest_array(hashes), rows)
    assert found is not None
    shares = []
    for text in queries:
        vector = semantic.embed_query(text)
        truth = exact.nearest(vector, DEPTH, held.searcher)
        shares.append(len(truth.keys() & found.nearest(vector, DEPTH, held.searcher).keys()) / max(1, len(truth)))
    return sum(shares) / max(1, len(shares))


def feedback_recall(index: Path, queries: list[str], layout: str = "codes") -> tuple[float, int] | None:
    """Mean share of the exact scan's 100 nearest articles to each feedback query (the query
    moved towards its best articles) that a search through ``layout`` finds, and how many
    feedback queries there were. Where the layout scans (the 8-bit codes), the moved query is
    ranked among the first scan's pool rather than scanned again: this is that pool's recall."""
    moved: list[SemanticQuery] = []
    refined = SemanticQuery.refined

    def recorded(self: SemanticQuery, docnums: list[int], weight: float) -> SemanticQuery:
        query = refined(self, docnums, weight)
        if query is not self:
            moved.append(query)
        return query

    with laid_out(layout), SearchService(index) as service:
        held, generation = service._pool.acquire()
        table = VectorTable.load(generation.folder)
        if table is None:
            return None
        exact = VectorMatrix.exact(table.rows_for(held.values("content_hash")), table.vectors)
        shares = []
        SemanticQuery.refined = recorded  # type: ignore[method-assign]
        try:
            for text in queries:
                moved.clear()
                service.ranked_ids(f"{text} ", DEPTH)  # (a space: the results cache never answers)
                for query in moved:
                    truth = exact.nearest(query.vector, DEPTH, query.searcher)
                    shares.append(len(truth.keys() & query.nearest(DEPTH).keys()) / max(1, len(truth)))
        finally:
            SemanticQuery.refined = refined  # type: ignore[method-assign]
    return (sum(shares) / len(shares), len(shares)) if shares else None


def graph_breadth(service: SearchService) -> str:
    """The live generation's graph's calibrated breadth, as ``make eval`` prints it."""
    _, generation = service._pool.acquire()
    graph = NeighbourGraph.load(generation.folder)
    if graph is None:
        return "no graph in the generation"
    if graph.breadth is None:
        return f"no breadth reached the target on its probes (calibrated at {graph.calibrated:,} articles): scanned instead"
    return f"searched {graph.breadth:g} candidates wide a result asked (calibrated at {graph.calibrated:,} articles)"


def layout_ndcg(index: Path, queries: list[tuple[str, str]], score: Callable[[str, list[int]], float | None], layout: str) -> float:
    """Mean of ``score(query id, ranked ids)`` over the judged queries, every search through ``layout``.

    The graph layout needs the generation's graph: ``index build`` makes it from ``GRAPH_FROM`` articles,
    which both judged collections pass.
    """
    with laid_out(layout), SearchService(index) as service:
        values = [score(query_id, service.ranked_ids(text, DEPTH)) for query_id, text in queries]
    judged = [value for value in values if value is not None]
    return sum(judged) / max(1, len(judged))
