"""Article vectors kept beside an index generation, and the query-time matrix made from them.

Whoosh stores no vectors, so a generation folder with semantic search on holds
``vectors.npz``: one row per article *content hash*, float16, and the name of
the model that made them. Keying by content hash lets a rebuild reuse every
unchanged article's vector (embedding costs about 0.1-0.2 s per article on
one core) and lets an update add and drop rows without knowing ids. Published
snapshots carry the file like the other generation files.

At search time the rows are laid out by Whoosh document number
(:class:`VectorMatrix`), so a query's similarity to every article is one
matrix-vector product.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence, runtime_checkable

from indexer.index.atomic import atomic_file

if TYPE_CHECKING:
    import numpy as np
    from whoosh.searching import Searcher

__all__ = ["VECTORS_FILE", "ArticleVectors", "VectorTable", "VectorMatrix", "DenseMatrix", "SemanticQuery", "digest_array", "positions_of"]

VECTORS_FILE = "vectors.npz"


class ArticleVectors:
    """Content hash (hex) -> unit vector, for one model."""

    def __init__(self, model: str, rows: dict[str, "np.ndarray"] | None = None) -> None:
        self.model = model
        self.rows: dict[str, np.ndarray] = rows if rows is not None else {}

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def dimensions(self) -> int:
        return len(next(iter(self.rows.values()))) if self.rows else 0

    def __contains__(self, digest: object) -> bool:
        return digest in self.rows

    def add(self, digests: Iterable[str], vectors: "np.ndarray") -> None:
        for digest, vector in zip(digests, vectors):
            self.rows[digest] = vector

    def discard(self, digests: Iterable[str]) -> None:
        for digest in digests:
            self.rows.pop(digest, None)

    @classmethod
    def load(cls, folder: Path) -> "ArticleVectors | None":
        """The vectors saved in a generation folder; None if it has none or they are unreadable."""
        table = VectorTable.load(folder)
        if table is None:
            return None
        # (Read as bytes through uint8: numpy drops a fixed-width string's trailing zero bytes, so a
        # hash ending in 00, one article in 256, lost its vector.)
        digests = table.hashes.view("u1").reshape(len(table.hashes), -1)
        return cls(table.model, {bytes(digest).hex(): vector for digest, vector in zip(digests, table.vectors)})

    def save(self, folder: Path) -> None:
        """Write the vectors into a generation folder, atomically."""
        import numpy as np

        digests = list(self.rows)
        hashes = digest_array(digests)
        vectors = np.array([self.rows[digest] for digest in digests], dtype=np.float16).reshape(len(digests), self.dimensions)
        with atomic_file(folder / VECTORS_FILE) as handle:
            np.savez(handle, hashes=hashes, vectors=vectors, model=np.array(self.model))


@dataclass
class VectorTable:
    """A generation's vectors file as it is stored: no dict of rows (searchers read it this way).

    A dict of 100,000 hex strings and row views costs a worker about 25 MB that it
    keeps (the allocator holds on to small objects) for a lookup done once per layout.
    """

    model: str
    hashes: "np.ndarray"  # (rows,) S16: content hashes
    vectors: "np.ndarray"  # (rows, dimensions) float16

    @classmethod
    def load(cls, folder: Path) -> "VectorTable | None":
        """The table saved in a generation folder; None if it has none or it is unreadable."""
        import numpy as np

        try:
            with np.load(folder / VECTORS_FILE, allow_pickle=False) as data:
                hashes, vectors, model = data["hashes"], data["vectors"], str(data["model"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):  # (BadZipFile: a truncated file)
            return None
        if vectors.ndim != 2 or len(hashes) != len(vectors):
            return None
        return cls(model, hashes, vectors)

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1]) if len(self.vectors) else 0

    def rows_for(self, hashes: "Sequence[str]") -> "np.ndarray":
        """For each hex content hash in ``hashes``, its row in this table (-1: none)."""
        return positions_of(self.hashes, digest_array(hashes))


def digest_array(digests: "Iterable[str]") -> "np.ndarray":
    """Hex content hashes as the 16-byte strings the vectors file and the graph keep."""
    import numpy as np

    return np.array([bytes.fromhex(digest) for digest in digests], dtype="S16")


def positions_of(keys: "np.ndarray", wanted: "np.ndarray") -> "np.ndarray":
    """For each of ``wanted`` (S16 content hashes), its position in ``keys`` (-1: none)."""
    import numpy as np

    if not len(keys):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    found = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    return np.where(ordered[found] == wanted, order[found], -1).astype(np.int64)


_one_thread = False


def search_in_one_blas_thread() -> None:
    """Let BLAS use one thread in this process, once it searches by meaning.

    A query's products are small (one vector against the article matrix); the
    web server's workers and threads are the parallelism, and OpenBLAS's own
    threads only fought them for the cores (measured 3x slower under load).
    Without threadpoolctl nothing changes.
    """
    global _one_thread
    if _one_thread:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
    _one_thread = True


@dataclass
class VectorMatrix:
    """The vectors of one searcher's documents, row = document number (zero for an article without one)."""

    matrix: "np.ndarray"  # (documents, dimensions), float32
    known: "np.ndarray"  # (documents,) bool: the row holds a real vector

    @classmethod
    def exact(cls, rows: "np.ndarray", vectors: "np.ndarray") -> "VectorMatrix":
        """Row ``rows[docnum]`` of ``vectors`` (-1: none) for each document number, as float32."""
        import numpy as np

        known = rows >= 0
        matrix = np.zeros((len(rows), vectors.shape[1] or 1), dtype=np.float32)
        matrix[known] = vectors[rows[known]]
        return cls(matrix, known)

    def nearest(self, query: "np.ndarray", count: int, searcher: "Searcher") -> dict[int, float]:
        """The ``count`` live documents most similar to ``query`` (document number -> cosine)."""
        import numpy as np

        if not self.known.any():
            return {}
        similarity = self.matrix @ query
        similarity[~self.known] = -np.inf
        reader = searcher.reader()
        deletions = reader.has_deletions()  # (asked once: most searchers have none, and asking per document costs)
        wanted = min(len(similarity), count + 32)  # a few spare for documents deleted since
        top = np.argpartition(-similarity, wanted - 1)[:wanted] if wanted < len(similarity) else np.arange(len(similarity))
        top = top[np.argsort(-similarity[top], kind="stable")]
        found: dict[int, float] = {}
        for docnum, value in zip(top.tolist(), similarity[top].tolist()):
            if len(found) == count or value == -np.inf:
                break
            if not (deletions and reader.is_deleted(docnum)):
                found[docnum] = value
        return found

    def rows(self, docnums: list[int]) -> "np.ndarray":
        """The vectors of ``docnums``, all of which have one."""
        return self.matrix[docnums]

    def similarity(self, query: "np.ndarray", docnums: list[int]) -> list[float]:
        """Cosine of ``query`` with each of ``docnums`` (0 for a document without a vector)."""
        rows = self.matrix[docnums] @ query
        return [float(value) if known else 0.0 for value, known in zip(rows.tolist(), self.known[docnums].tolist())]


@runtime_checkable
class PooledMatrix(Protocol):
    """A layout that scans every vector (:class:`~indexer.semantic.quantised.QuantisedMatrix`): its
    scan can keep a pool of the nearest, and a moved query is ranked among them instead of scanned."""

    def nearest_pooled(self, query: "np.ndarray", count: int, searcher: "Searcher") -> "tuple[dict[int, float], Any]": ...

    def nearest_among(self, query: "np.ndarray", count: int, pool: Any, searcher: "Searcher") -> dict[int, float]: ...


class DenseMatrix(Protocol):
    """One searcher's article vectors by document number: exact (:class:`VectorMatrix`), 8-bit codes
    (:mod:`indexer.semantic.quantised`) or a graph of them (:mod:`indexer.semantic.neighbours`)."""

    known: "np.ndarray"  # (documents,) bool: the document has a vector

    def nearest(self, query: "np.ndarray", count: int, searcher: "Searcher") -> dict[int, float]: ...

    def rows(self, docnums: list[int]) -> "np.ndarray": ...

    def similarity(self, query: "np.ndarray", docnums: list[int]) -> list[float]: ...


@dataclass
class SemanticQuery:
    """One query against one searcher's matrix: what :func:`indexer.ranking.fusion.fuse` asks.

    The query is embedded only when first needed, so a query that ranks by
    words alone (a phrase, an exclusion) never pays for it.
    """

    dense: "DenseMatrix"
    embed: "Callable[[], np.ndarray]"
    searcher: "Searcher"
    #: Texts into the same space, one row each, in well under a millisecond a text (the
    #: fitted query encoder), for reading passages; None where only the model could (older indexes).
    embed_texts: "Callable[[list[str]], np.ndarray] | None" = None
    _vector: "np.ndarray | None" = None
    #: A moved query's candidates (a :class:`PooledMatrix`'s pool): the first query's nearest.
    _among: Any = None
    _pool: Any = field(default=None, init=False)  # (the pool this query's scan kept)

    @property
    def vector(self) -> "np.ndarray":
        if self._vector is None:
            self._vector = self.embed()
        return self._vector

    def nearest(self, count: int) -> dict[int, float]:
        if isinstance(self.dense, PooledMatrix):
            if self._among is not None:
                return self.dense.nearest_among(self.vector, count, self._among, self.searcher)
            found, self._pool = self.dense.nearest_pooled(self.vector, count, self.searcher)
            return found
        return self.dense.nearest(self.vector, count, self.searcher)

    def similarity(self, docnums: list[int]) -> list[float]:
        return self.dense.similarity(self.vector, docnums) if docnums else []

    def refined(self, docnums: list[int], weight: float) -> "SemanticQuery":
        """This query moved towards the mean vector of ``docnums`` (feedback in the space of meaning)."""
        import numpy as np

        rows = [docnum for docnum in docnums if self.dense.known[docnum]]
        if not rows or weight <= 0:
            return self
        moved = self.vector + weight * self.dense.rows(rows).mean(axis=0)
        norm = float(np.linalg.norm(moved))
        # (Where this query's scan kept a pool, the moved query is ranked among it: see quantised.FEEDBACK_POOL_SHARE.)
        return SemanticQuery(self.dense, self.embed, self.searcher, self.embed_texts, moved / norm if norm > 0 else moved, self._pool)
