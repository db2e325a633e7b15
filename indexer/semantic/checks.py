"""Checks of a generation's files for ranking by meaning, for ``index verify``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from whoosh import index as whoosh_index

from indexer.index.verify import Problem, _load
from indexer.semantic.vectors import VECTORS_FILE

if TYPE_CHECKING:
    from indexer.semantic.vectors import ArticleVectors

__all__ = ["semantic_problems"]


def semantic_problems(ix: whoosh_index.Index, folder: Path) -> list[Problem]:
    """Vectors, query encoder and graph loadable, of one model and size, a vector (in the graph) for every article."""
    problems: list[Problem] = []

    if not (folder / VECTORS_FILE).exists():
        return problems
    try:
        from indexer.semantic.query_encoder import QUERY_ENCODER_FILE, QueryEncoder
        from indexer.semantic.vectors import ArticleVectors
    except ImportError as error:
        return [*problems, Problem(str(folder / VECTORS_FILE), f"cannot be checked: {error}; run `make install`")]
    vectors = _load(ArticleVectors.load, folder)
    if vectors is None:
        return [*problems, Problem(str(folder / VECTORS_FILE), "unreadable")]
    with ix.reader() as reader:
        hashes = reader.column_reader("content_hash")
        missing = sum(1 for docnum in reader.all_doc_ids() if hashes[docnum] not in vectors)
    if missing:
        problems.append(Problem(str(folder / VECTORS_FILE), f"{missing} article(s) have no vector"))
    problems.extend(_graph_problems(folder, vectors))
    if (folder / QUERY_ENCODER_FILE).exists():
        encoder = _load(QueryEncoder.load, folder)
        if encoder is None:
            problems.append(Problem(str(folder / QUERY_ENCODER_FILE), "unreadable"))
        elif encoder.model != vectors.model or encoder.dimensions != vectors.dimensions:
            problems.append(Problem(str(folder / QUERY_ENCODER_FILE),
                                    f"made for {encoder.model} ({encoder.dimensions} dimensions), the vectors by "
                                    f"{vectors.model} ({vectors.dimensions})"))
    return problems


def _graph_problems(folder: Path, vectors: "ArticleVectors") -> list[Problem]:
    """A graph of neighbours that cannot be read or lacks vectors: searches scan every vector instead."""
    from indexer.semantic.neighbours import NEIGHBOURS_FILE, NeighbourGraph
    from indexer.semantic.vectors import digest_array, positions_of

    if not (folder / NEIGHBOURS_FILE).exists():
        return []
    graph = _load(NeighbourGraph.load, folder)
    where = str(folder / NEIGHBOURS_FILE)
    if graph is None:
        return [Problem(where, "unreadable (or faiss is missing): searches scan every vector until `index build` makes it again")]
    missing = int((positions_of(graph.hashes, digest_array(vectors.rows)) < 0).sum())
    if graph.model != vectors.model or missing:
        return [Problem(where, f"lacks {missing} of the {len(vectors)} vectors (model {graph.model}): searches scan "
                               "every vector until `index build` makes it again")]
    return []
