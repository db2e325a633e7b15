"""Article vectors held as one byte a dimension, and scanned by faiss: for large indexes.

Each web worker lays the article vectors out by document number. As float32
that is 1.5 KB an article: 146 MB a worker at 100,000 articles, most of a
worker's memory, and every query reads it all (a matrix-vector product bound
by memory speed, about 13 ms there). faiss's scalar quantiser keeps a byte
a dimension (a quarter of the memory) and scans the codes with SIMD
instructions (about 5 ms at 100,000 articles, one thread, measured here).

Quantising moves a cosine by about 1e-3, so the nearest articles can change
at the margin: ``make eval`` reports recall@100 of this scan against the
exact one. Below :data:`QUANTISE_FROM` articles the float32 matrix is small
and exact, and is kept.

Reading every 8-bit code is itself most of a search by meaning at 100,000
articles, so from :data:`COARSE_FROM` a scan reads a coarser code first (half a
byte for two dimensions, which faiss scans in registers: a tenth of the time)
and ranks only its best (feedback's pool, :data:`FEEDBACK_POOL_SHARE`: 2,000 at
100,000 articles) by their 8-bit codes. Feedback's moved query is ranked among
those too: one coarse scan a query.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from indexer.semantic.memory import give_back_freed_memory

if TYPE_CHECKING:
    import numpy as np
    from whoosh.searching import Searcher

__all__ = ["CodedVectors", "QuantisedMatrix", "QUANTISE_FROM", "FEEDBACK_POOL_SHARE", "FEEDBACK_POOL_LEAST", "COARSE_FROM",
           "COARSE_LEAST", "quantisation_available"]

#: Articles from which the vectors are quantised (below: float32 is under 30 MB a worker).
QUANTISE_FROM = 20_000
#: Rows laid out at a time, so that no full float32 copy is ever held.
CHUNK = 8192
#: Feedback's candidates. A fusion searches twice: for the query, then for the query moved
#: towards its two best articles. The moved query's nearest lie among the first search's nearest,
#: so the first keeps this share of the articles (at least FEEDBACK_POOL_LEAST) and the moved
#: query is ranked among them from their codes instead of scanning again. At 100,000 generated
#: articles a pool of 2,000 keeps 0.987 of the moved query's exact nearest 100 (1,000: 0.972;
#: tests/bench/RESULTS.md, 2026-12-06); ``make eval`` and the bench report it.
FEEDBACK_POOL_SHARE = 0.01
FEEDBACK_POOL_LEAST = 2000
#: From this many codes a scan first reads a coarse code of every article (faiss's product
#: quantiser with fast scan: 4 bits for each two dimensions, 96 bytes an article at 384), takes
#: the COARSE_LEAST best by it and ranks those by their 8-bit codes. At 100,000 generated
#: articles that is 0.5 ms against 5 ms for reading every 8-bit code, and it finds what they do:
#: 0.990 of the exact nearest 100 either way (tests/bench/RESULTS.md, 2026-12-06; ``make eval``
#: reports it on the judged collections).
COARSE_FROM = 20_000  # (as QUANTISE_FROM: wherever searches scan codes, the coarse ones go first)
COARSE_LEAST = 1000
#: At most this many articles, evenly spaced, train the coarse codes (faiss reads no more), and
#: the rows coded at a time.
COARSE_TRAINING = 4096
COARSE_BLOCK = 1024
#: Each worker makes the coarse codes once a generation, about 2 s at 100,000 articles: in a thread
#: of their own, so the first search after a switch waits only for the 8-bit codes (0.65 s there);
#: until they are made, searches read every 8-bit code. (Off in tests/eval, which measure the codes made.)
COARSE_IN_BACKGROUND = True


def quantisation_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class CodedVectors:
    """Article vectors that a faiss index holds, reached by document number: what the 8-bit layouts share.

    ``_ids[docnum]`` is the document's number in ``_index`` (-1: it has no vector).
    """

    known: "np.ndarray"
    _ids: "np.ndarray"
    _index: Any
    _decoding: "_Decoding | None" = None  # (read at the first similarity asked)
    _decoding_read = False

    def rows(self, docnums: list[int]) -> "np.ndarray":
        """The (decoded) vectors of ``docnums``, all of which have one."""
        import numpy as np

        return self._index.reconstruct_batch(self._ids[np.asarray(docnums, dtype=np.int64)])

    def similarity(self, query: "np.ndarray", docnums: list[int]) -> list[float]:
        """Cosine of ``query`` with each of ``docnums`` (0 for a document without a vector).

        Read from the codes as numpy arrays: a code ``c`` stands for ``low + (c + 0.5) / 255 * span``
        per dimension, so the cosine is one product of the bytes with the query scaled by the span,
        plus a constant. faiss's own decoding (``reconstruct_batch``) gives the same cosines to about
        1e-7, at over twice the cost: 0.08 against 0.03 ms for a fusion's hundred candidates, most of
        it Python's calls into faiss.
        """
        import numpy as np

        asked = np.asarray(docnums, dtype=np.int64)
        known = self.known[asked]
        values = np.zeros(len(asked), dtype=np.float32)
        if known.any():
            positions = self._ids[asked[known]]
            decoding = self._decoding_of()
            if decoding is None:
                values[known] = self._index.reconstruct_batch(positions) @ query
            else:
                values[known] = decoding.cosines(np.asarray(query, dtype=np.float32), positions)
        return values.tolist()

    def _decoding_of(self) -> "_Decoding | None":
        """The codes' decoding, read at the first cosine asked."""
        if not self._decoding_read:
            self._decoding, self._decoding_read = _Decoding.of(self._index), True
        return self._decoding


class _Decoding:
    """How a faiss 8-bit index's codes stand for vectors: each dimension's low end and span."""

    def __init__(self, storage: Any, low: "np.ndarray", span: "np.ndarray") -> None:
        self.storage = storage
        self.low = low
        self.span = span
        self.dimensions = int(storage.d)
        self._codes: "tuple[int, np.ndarray] | None" = None  # (vectors held, a view of their codes)

    @classmethod
    def of(cls, index: Any) -> "_Decoding | None":
        """The index's decoding; None where its codes are not one byte a dimension (faiss decodes them)."""
        import faiss

        storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
        if not isinstance(storage, faiss.IndexScalarQuantizer) or storage.sq.qtype != faiss.ScalarQuantizer.QT_8bit:
            return None
        trained = faiss.vector_to_array(storage.sq.trained)
        dimensions = storage.d
        if storage.code_size != dimensions or len(trained) != 2 * dimensions:
            return None
        return cls(storage, trained[:dimensions], trained[dimensions:])

    def cosines(self, query: "np.ndarray", positions: "np.ndarray") -> "np.ndarray":
        return self.cosines_of(query, self.rows(positions))

    def rows(self, positions: "np.ndarray") -> "np.ndarray":
        """The codes at ``positions`` as float32 rows, for :meth:`cosines_of`."""
        return self.codes()[positions].astype("float32")

    def cosines_of(self, query: "np.ndarray", rows: "np.ndarray") -> "np.ndarray":
        return rows @ (self.span / 255.0 * query) + float((self.low + 0.5 / 255.0 * self.span) @ query)  # type: ignore[no-any-return]

    def codes(self) -> "np.ndarray":
        """The index's codes, (vectors, dimensions) bytes: a view of its own memory, made again
        once it holds more vectors (adding moves that memory; nothing else does)."""
        import faiss

        held = int(self.storage.ntotal)
        if self._codes is None or self._codes[0] != held:
            view = faiss.rev_swig_ptr(self.storage.codes.data(), held * self.dimensions).reshape(held, self.dimensions)
            self._codes = (held, view)
        return self._codes[1]


class Pool(NamedTuple):
    """A first search's nearest codes, kept for feedback's moved query: their positions, and,
    where the search decoded them, their codes as float32 rows (the moved query is one product)."""

    positions: "np.ndarray"
    rows: "np.ndarray | None"


class QuantisedMatrix(CodedVectors):
    """One searcher's article vectors as 8-bit codes, scanned whole; the same questions as :class:`VectorMatrix`."""

    def __init__(self, rows: "np.ndarray", vectors: "np.ndarray") -> None:
        """Row ``rows[docnum]`` of ``vectors`` (float16; -1: none) for each document number."""
        import faiss
        import numpy as np

        faiss.omp_set_num_threads(1)  # (one query at a time: the server's workers are the parallelism)
        self.known = rows >= 0
        #: faiss position -> document number, and back (-1: no vector).
        self._docnums = np.flatnonzero(self.known).astype(np.int64)
        self._ids = np.full(len(rows), -1, dtype=np.int64)
        self._ids[self._docnums] = np.arange(len(self._docnums))
        dimensions = vectors.shape[1] or 1
        self._index = faiss.IndexScalarQuantizer(dimensions, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        self._coarse: Any = None  # (the coarse codes, from COARSE_FROM articles, once made)
        #: The thread that makes the coarse codes (None: made before the layout returned, or none at this size).
        self.coarse_made: threading.Thread | None = None
        if not len(self._docnums):
            return
        chunks = [rows[self._docnums[start : start + CHUNK]] for start in range(0, len(self._docnums), CHUNK)]
        low = np.min([vectors[chunk].min(axis=0) for chunk in chunks], axis=0).astype(np.float32)
        high = np.max([vectors[chunk].max(axis=0) for chunk in chunks], axis=0).astype(np.float32)
        self._index.train(np.stack([low, high]))  # (each dimension's codes span its range)
        for chunk in chunks:
            self._index.add(vectors[chunk].astype(np.float32))
        if len(self._docnums) >= COARSE_FROM and dimensions % 2 == 0:
            if COARSE_IN_BACKGROUND:
                self.coarse_made = threading.Thread(target=self._make_coarse, args=(rows, vectors, chunks), daemon=True)
                self.coarse_made.start()
            else:
                self._make_coarse(rows, vectors, chunks)

    def _make_coarse(self, rows: "np.ndarray", vectors: "np.ndarray", chunks: "list[np.ndarray]") -> None:
        """Train and fill the coarse codes; searches use them once they are whole."""
        import faiss
        import numpy as np

        dimensions = vectors.shape[1]
        coarse = faiss.IndexPQFastScan(dimensions, dimensions // 2, 4, faiss.METRIC_INNER_PRODUCT)
        step = -(-len(self._docnums) // COARSE_TRAINING)  # (every step-th article: the same sample in every worker)
        coarse.train(vectors[rows[self._docnums[::step]]].astype(np.float32))
        for chunk in chunks:  # (small blocks: what a thread frees, its own heap keeps)
            for start in range(0, len(chunk), COARSE_BLOCK):
                coarse.add(vectors[chunk[start : start + COARSE_BLOCK]].astype(np.float32))
        self._coarse = coarse
        give_back_freed_memory()

    def nearest(self, query: "np.ndarray", count: int, searcher: "Searcher") -> dict[int, float]:
        """The ``count`` live documents most similar to ``query`` (document number -> cosine)."""
        return self.nearest_pooled(query, count, searcher, pool=0)[0]

    def nearest_pooled(self, query: "np.ndarray", count: int, searcher: "Searcher", pool: int | None = None) -> "tuple[dict[int, float], Pool]":
        """:meth:`nearest`, and a :class:`Pool` of at least the ``pool`` nearest codes for
        :meth:`nearest_among` (default: :data:`FEEDBACK_POOL_SHARE` of the codes, at least
        :data:`FEEDBACK_POOL_LEAST`). One scan either way: keeping more costs only a longer heap."""
        import numpy as np

        if not len(self._docnums):
            return {}, Pool(np.zeros(0, dtype=np.int64), None)
        if pool is None:
            pool = max(FEEDBACK_POOL_LEAST, math.ceil(FEEDBACK_POOL_SHARE * len(self._docnums)))
        wanted = min(len(self._docnums), max(count + 32, pool))  # (32: a few spare for documents deleted since)
        vector = np.asarray(query, dtype=np.float32)
        coarse, decoding = self._coarse, self._decoding_of()
        if coarse is None or decoding is None:
            found, positions = self._index.search(vector.reshape(1, -1), wanted)
            positions = positions[0][positions[0] >= 0]
            return self._live(positions.tolist(), found[0][: len(positions)].tolist(), count, searcher), Pool(positions, None)
        _, candidates = coarse.search(vector.reshape(1, -1), min(len(self._docnums), max(wanted, COARSE_LEAST)))
        candidates = candidates[0][candidates[0] >= 0]
        rows = decoding.rows(candidates)
        cosines = decoding.cosines_of(vector, rows)
        order = np.argsort(-cosines, kind="stable")[: count + 32]
        return self._live(candidates[order].tolist(), cosines[order].tolist(), count, searcher), Pool(candidates, rows)

    def nearest_among(self, query: "np.ndarray", count: int, pool: "Pool", searcher: "Searcher") -> dict[int, float]:
        """The ``count`` live documents most similar to ``query`` among the codes of ``pool`` (from
        :meth:`nearest_pooled`), with the cosines a scan would give (to about 1e-7)."""
        import numpy as np

        if not len(pool.positions):
            return {}
        vector = np.asarray(query, dtype=np.float32)
        decoding = self._decoding_of()
        if pool.rows is not None and decoding is not None:
            cosines = decoding.cosines_of(vector, pool.rows)  # (the rows the first search decoded: not read again)
        elif decoding is not None:
            cosines = decoding.cosines(vector, pool.positions)
        else:
            cosines = self._index.reconstruct_batch(pool.positions) @ vector
        order = np.argsort(-cosines, kind="stable")[: count + 32]
        return self._live(pool.positions[order].tolist(), cosines[order].tolist(), count, searcher)

    def _live(self, positions: list[int], scores: list[float], count: int, searcher: "Searcher") -> dict[int, float]:
        """The first ``count`` of ``positions`` whose documents are live (document number -> score)."""
        reader = searcher.reader()
        deletions = reader.has_deletions()
        found: dict[int, float] = {}
        for position, value in zip(positions, scores):
            if len(found) == count:
                break
            docnum = int(self._docnums[position])
            if not (deletions and reader.is_deleted(docnum)):
                found[docnum] = value
        return found
