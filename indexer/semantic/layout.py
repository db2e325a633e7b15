"""The article vectors laid out for one searcher's documents: exact, as 8-bit codes, or through the graph.

Which one is a matter of size: from :data:`~indexer.semantic.neighbours.GRAPH_FROM`
documents, 8-bit codes found through the generation's graph of nearest neighbours
(:mod:`indexer.semantic.neighbours`) when it holds them all; without it, from
:data:`~indexer.semantic.quantised.QUANTISE_FROM` the 8-bit codes scanned whole
(:mod:`indexer.semantic.quantised`), and below that the float32 matrix, small and exact.
"""

from __future__ import annotations

from typing import Sequence

from indexer.semantic import neighbours, quantised
from indexer.semantic.neighbours import NeighbourGraph
from indexer.semantic.memory import give_back_freed_memory
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import DenseMatrix, VectorMatrix, VectorTable, digest_array, positions_of

__all__ = ["lay_out"]


def lay_out(hashes: Sequence[str], table: VectorTable, graph: NeighbourGraph | None = None) -> DenseMatrix:
    """``table``'s vectors by document number, from every document's hex content hash.

    (The thresholds are read at call time: tests and ``make eval`` lower them.)
    """
    wanted = digest_array(hashes)
    rows = positions_of(table.hashes, wanted)
    matrix: DenseMatrix | None = None
    if len(hashes) >= neighbours.GRAPH_FROM and graph is not None and graph.model == table.model:
        matrix = graph.matrix_for(wanted, rows)
    if matrix is None:
        if len(hashes) >= quantised.QUANTISE_FROM and quantised.quantisation_available():
            matrix = QuantisedMatrix(rows, table.vectors)
        else:
            matrix = VectorMatrix.exact(rows, table.vectors)
    give_back_freed_memory()
    return matrix

