"""A graph of the article vectors' nearest neighbours, made by build and update: meaning without a full scan.

A search by meaning asks for nearest articles twice (the query's 20, for the
first fusion, then the hundred nearest the query moved by feedback). A full
scan reads every article's vector each time: about 5 ms for 8-bit codes at
100,000 articles, 0.2 ms for float32 at 3,600. faiss's HNSW graph over 8-bit
codes finds them by visiting a few hundred to a few thousand articles, with
recall@100 against the exact scan about 0.99 on the judged collections
(``make eval`` reports it), so from :data:`GRAPH_FROM` articles searches go
through it.

Making the graph takes about 20 s at 100,000 articles on two cores, far too
long for each web worker after each update; so ``index build`` makes it,
``index update`` adds its new articles to it (milliseconds each), and each
worker reads the file when it lays out its vectors. An article dropped since
stays in the graph, reached by no document, until such labels are
:data:`DEAD_SHARE` of it; then the update makes the graph anew. A graph that
lacks a searcher's article (a failed write) is not used: the searcher scans
(:mod:`indexer.semantic.layout`).

How wide a search must look to find the exact scan's nearest articles grows
with the collection (and with how evenly its vectors spread), so no one breadth
holds at every size: each graph measures its own when it is made, and again as
updates grow it, on probes near its articles (:func:`calibrated_breadth`). A graph
that no breadth within :data:`BREADTHS_PER_RESULT` brings to :data:`TARGET_RECALL`
is kept for the next update but not searched: the searcher scans the 8-bit codes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from indexer.index.atomic import atomic_file
from indexer.semantic import quantised
from indexer.semantic.vectors import ArticleVectors, digest_array, positions_of

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np
    from whoosh.searching import Searcher

__all__ = ["NEIGHBOURS_FILE", "GRAPH_FROM", "NeighbourGraph", "NeighbourMatrix", "write_neighbours"]

NEIGHBOURS_FILE = "neighbours.npz"
#: Articles from which a generation has a graph and searches go through it: above about 2,000
#: a graph search (two of them: the query's 20 nearest, then its feedback's 100) costs less than
#: scanning the float32 matrix once (tests/eval/RESULTS.md, step 27).
GRAPH_FROM = 2_000
#: Links per article in the graph (faiss's M): 16 loses nothing against 32 on the judged collections.
LINKS = 16
#: Candidates kept while linking a new article (efConstruction).
BUILD_BREADTH = 80
#: Candidates kept while searching (efSearch), per result asked, from which a graph's
#: calibration starts: for the 132 a fusion asks (100 and :data:`SPARE`), about 200, which gave
#: recall@100 0.989 (NFCorpus) and 0.992 (SciFact), where 150 gave 0.979 and 0.988.
BREADTH_PER_RESULT = 1.5
#: The breadths per result a calibration tries, in order: the first that reaches
#: :data:`TARGET_RECALL` on the probes is the graph's. Past the last, a graph search costs
#: about what a scan of the 8-bit codes does at 100,000 articles.
BREADTHS_PER_RESULT = (BREADTH_PER_RESULT, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
#: Nearest-100 recall against the exact scan that a graph's breadth must reach on its probes.
TARGET_RECALL = 0.98
#: Probes a calibration searches (each an article's vector moved by :data:`PROBE_NOISE`).
PROBES = 200
#: How far a probe lies from its article: a random direction of this length is added to the unit
#: vector, which puts the probe's nearest article at a cosine of about 0.56, where the judged
#: collections' queries find theirs (medians 0.58 and 0.65). Probes nearer their articles (0.8)
#: are found more easily than the queries are, so they would call too narrow a breadth good.
PROBE_NOISE = 1.5
#: A graph that updates have grown by this share since its calibration is calibrated again.
RECALIBRATE_GROWTH = 0.1
#: Labels reached by no article that make an update lay the graph out anew.
DEAD_SHARE = 0.1
#: Spare results asked of the graph, for labels that are dead or deleted in this searcher.
SPARE = 32


@contextlib.contextmanager
def _every_core() -> Iterator[None]:
    """faiss on every core while it links articles (searchers keep it to one thread)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


@dataclass
class NeighbourGraph:
    """The graph, and the content hash of each of its labels (faiss numbers the vectors it holds)."""

    model: str
    hashes: "np.ndarray"  # (labels,) S16
    live: "np.ndarray"  # (labels,) bool: the label's article was among the vectors at the last write
    index: Any  # faiss.IndexHNSWSQ
    #: Candidates kept per result asked, from the last calibration (None: none reached the target).
    breadth: float | None = BREADTH_PER_RESULT
    #: Labels the graph had when it was calibrated (0: never, as in a graph saved before calibration).
    calibrated: int = 0

    @classmethod
    def made(cls, vectors: ArticleVectors) -> "NeighbourGraph":
        """A new graph of every vector in ``vectors``."""
        import faiss
        import numpy as np

        hashes = digest_array(list(vectors.rows))
        # (faiss's bundled stubs know neither this constructor nor SearchParametersHNSW)
        index = faiss.IndexHNSWSQ(vectors.dimensions, faiss.ScalarQuantizer.QT_8bit, LINKS, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        index.hnsw.efConstruction = BUILD_BREADTH
        matrix = _matrix(vectors, list(vectors.rows))
        with _every_core():
            index.train(np.stack([matrix.min(axis=0), matrix.max(axis=0)]))  # (each dimension's codes span its range)
            index.add(matrix)
            breadth = calibrated_breadth(index, matrix, np.arange(len(matrix)))
        return cls(vectors.model, hashes, np.ones(len(hashes), dtype=bool), index, breadth, len(hashes))

    def extended(self, vectors: ArticleVectors) -> "NeighbourGraph | None":
        """This graph with ``vectors``' new articles linked in, and the others marked dead; None: make it anew."""
        import numpy as np

        if vectors.model != self.model or vectors.dimensions != self.index.d:
            return None
        present = digest_array(list(vectors.rows))
        live = positions_of(present, self.hashes) >= 0
        new = [digest for digest, where in zip(vectors.rows, positions_of(self.hashes, present).tolist()) if where < 0]
        labels = len(self.hashes) + len(new)
        if labels - int(live.sum()) - len(new) > DEAD_SHARE * labels:
            return None
        hashes = np.concatenate([self.hashes, digest_array(new)])
        breadth, calibrated = self.breadth, self.calibrated
        with _every_core():
            if new:
                self.index.add(_matrix(vectors, new))
            if labels >= (1 + RECALIBRATE_GROWTH) * calibrated:
                digests = list(vectors.rows)
                breadth = calibrated_breadth(self.index, _matrix(vectors, digests), positions_of(hashes, digest_array(digests)))
                calibrated = labels
        return NeighbourGraph(self.model, hashes, np.concatenate([live, np.ones(len(new), dtype=bool)]), self.index, breadth, calibrated)

    def save(self, folder: Path) -> None:
        """Write into a generation folder, atomically."""
        import faiss
        import numpy as np

        with atomic_file(folder / NEIGHBOURS_FILE) as handle:
            np.savez(handle, model=np.array(self.model), hashes=self.hashes, live=self.live, graph=faiss.serialize_index(self.index),
                     breadth=np.array(self.breadth if self.breadth is not None else 0.0), calibrated=np.array(self.calibrated))

    @classmethod
    def load(cls, folder: Path, searched_only: bool = False) -> "NeighbourGraph | None":
        """The graph saved in a generation folder; None if it has none, it is unreadable, or faiss is missing.

        With ``searched_only`` (a searcher's question), also None for a graph calibrated to no
        breadth, read no further than its breadth: searchers scan past such a graph, and reading
        it whole cost each worker about 50 MB of work at 100,000 articles only to drop it.
        """
        import numpy as np

        try:
            import faiss

            with open(folder / NEIGHBOURS_FILE, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                # (a graph saved before calibration: the breadth it was searched with, calibrated by the next update)
                breadth = float(data["breadth"]) if "breadth" in data else BREADTH_PER_RESULT
                if searched_only and breadth <= 0:
                    return None
                calibrated = int(data["calibrated"]) if "calibrated" in data else 0
                model, hashes, live, graph = str(data["model"]), data["hashes"], data["live"], data["graph"]
            index = faiss.deserialize_index(graph)
        except (ImportError, OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile, EOFError):
            return None  # (RuntimeError: faiss refuses a damaged graph)
        if hashes.shape != live.shape or index.ntotal != len(hashes) or not isinstance(index, faiss.IndexHNSW):
            return None
        return cls(model, hashes, live, index, breadth if breadth > 0 else None, calibrated)

    def matrix_for(self, hashes: "np.ndarray", rows: "np.ndarray") -> "NeighbourMatrix | None":
        """The graph as one searcher's matrix (documents' content hashes, S16; their rows in the vectors
        file, -1: none); None if some document with a vector has no label (the graph was not written),
        or no breadth finds enough of the exact scan's nearest articles."""
        labels = positions_of(self.hashes, hashes)
        if self.breadth is None or ((rows >= 0) & (labels < 0)).any():
            return None
        return NeighbourMatrix(labels, self.index, self.breadth)


class NeighbourMatrix(quantised.CodedVectors):
    """One searcher's article vectors reached through the graph; the same questions as :class:`VectorMatrix`."""

    def __init__(self, labels: "np.ndarray", index: Any, breadth: float = BREADTH_PER_RESULT) -> None:
        """``labels[docnum]``: the document's label in ``index`` (-1: it has no vector); ``breadth``:
        candidates kept per result asked (the graph's calibration)."""
        import faiss
        import numpy as np

        faiss.omp_set_num_threads(1)  # (one query at a time: the server's workers are the parallelism)
        self.known = labels >= 0
        self._ids = labels
        self._index = index
        self._breadth = breadth
        self._parameters: dict[int, Any] = {}  # efSearch -> faiss's search parameters (read-only in a search)
        docnums = np.flatnonzero(self.known)
        order = np.argsort(labels[docnums], kind="stable")
        #: Documents by label (two documents can share a content hash, and so a label).
        self._documents = docnums[order].astype(np.int64)
        self._first = np.searchsorted(labels[docnums][order], np.arange(index.ntotal + 1))
        reached = len(np.unique(labels[docnums])) / max(1, index.ntotal)
        self._ask_share = 1 / max(0.5, reached)
        #: Each label's one document, where it has exactly one (-1: none or several), so the
        #: common search maps its labels in one step rather than label by label.
        self._sole = np.full(index.ntotal, -1, dtype=np.int64)
        if len(self._documents):  # (a searcher none of whose documents has a vector has no label to map)
            counts = np.diff(self._first)
            self._sole = np.where(counts == 1, self._documents[np.minimum(self._first[:-1], len(self._documents) - 1)], -1)

    def nearest(self, query: "np.ndarray", count: int, searcher: "Searcher") -> dict[int, float]:
        """The ``count`` live documents most similar to ``query`` (document number -> cosine)."""
        import faiss
        import numpy as np

        if not len(self._documents):
            return {}
        wanted = min(self._index.ntotal, math.ceil((count + SPARE) * self._ask_share))
        breadth = math.ceil(self._breadth * wanted)
        parameters = self._parameters.get(breadth)
        if parameters is None:  # (made once a breadth: a fusion asks the same two, and making one costs 20 us)
            parameters = self._parameters[breadth] = faiss.SearchParametersHNSW(efSearch=breadth)  # type: ignore[attr-defined]
        scores, labels = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), wanted, params=parameters)
        reader = searcher.reader()
        deletions = reader.has_deletions()
        valid = labels[0][labels[0] >= 0]
        sole = self._sole[valid]
        if not deletions and (sole >= 0).all():  # (every label found is one live document)
            return dict(zip(sole[:count].tolist(), scores[0][: min(count, len(sole))].tolist()))
        found: dict[int, float] = {}
        for label, value in zip(labels[0].tolist(), scores[0].tolist()):
            if label < 0:
                break
            for docnum in self._documents[self._first[label] : self._first[label + 1]].tolist():
                if len(found) == count:
                    return found
                if not (deletions and reader.is_deleted(docnum)):
                    found[docnum] = value
        return found


def write_neighbours(folder: Path, vectors: ArticleVectors) -> None:
    """Make or extend the graph of ``vectors`` in ``folder`` (below the size that scans codes, or without faiss: remove it)."""
    if len(vectors) < GRAPH_FROM or not quantised.quantisation_available():
        (folder / NEIGHBOURS_FILE).unlink(missing_ok=True)
        return
    previous = NeighbourGraph.load(folder)
    graph = (previous.extended(vectors) if previous is not None else None) or NeighbourGraph.made(vectors)
    if graph.breadth is None and (previous is None or previous.breadth is not None):
        log.warning("the graph of neighbours finds under %.0f%% of the exact scan's nearest articles at every breadth "
                    "tried: searches by meaning scan all %d articles' 8-bit codes instead (exact, slower)",
                    100 * TARGET_RECALL, len(vectors))
    graph.save(folder)


def calibrated_breadth(index: Any, matrix: "np.ndarray", labels: "np.ndarray") -> float | None:
    """The least of :data:`BREADTHS_PER_RESULT` whose searches find :data:`TARGET_RECALL` of the exact
    scan's 100 nearest articles for probes near ``matrix``'s rows (whose labels in ``index`` are
    ``labels``); None if none does. Labels not in ``labels`` (dead ones) are passed over, as searches do."""
    import faiss
    import numpy as np

    rng = np.random.default_rng(len(matrix))  # (the same probes for the same articles: a rebuild calibrates alike)
    depth = min(100, len(matrix))
    picked = matrix[rng.choice(len(matrix), size=min(PROBES, len(matrix)), replace=False)]
    noise = rng.standard_normal(picked.shape).astype(np.float32)
    probes = picked + PROBE_NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    truth = labels[np.argpartition(-(probes @ matrix.T), depth - 1, axis=1)[:, :depth]]
    alive = np.zeros(index.ntotal, dtype=bool)
    alive[labels] = True
    wanted = min(index.ntotal, math.ceil((depth + SPARE) * index.ntotal / max(1, len(matrix))))
    for per_result in BREADTHS_PER_RESULT:
        parameters = faiss.SearchParametersHNSW(efSearch=math.ceil(per_result * wanted))  # type: ignore[attr-defined]
        _, found = index.search(probes, wanted, params=parameters)
        shares = [len(np.intersect1d(row[alive[row] & (row >= 0)][:depth], expected)) / depth for row, expected in zip(found, truth)]
        if float(np.mean(shares)) >= TARGET_RECALL:
            return per_result
    return None


def _matrix(vectors: ArticleVectors, digests: list[str]) -> "np.ndarray":
    import numpy as np

    return np.array([vectors.rows[digest] for digest in digests], dtype=np.float32).reshape(len(digests), vectors.dimensions)
