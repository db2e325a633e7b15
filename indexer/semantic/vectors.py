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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from indexer.index.atomic import atomic_file

if TYPE_CHECKING:
    import numpy as np
    from whoosh.searching import Searcher

__all__ = ["VECTORS_FILE", "ArticleVectors", "VectorMatrix", "SemanticQuery", "digests_of"]

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
        import numpy as np

        try:
            with np.load(folder / VECTORS_FILE, allow_pickle=False) as data:
                hashes, vectors, model = data["hashes"], data["vectors"], str(data["model"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):  # (BadZipFile: a truncated file)
            return None
        if vectors.ndim != 2 or len(hashes) != len(vectors) or hashes.dtype != np.dtype("S16"):
            return None
        return cls(model, dict(zip(digests_of(hashes), vectors)))

    def save(self, folder: Path) -> None:
        """Write the vectors into a generation folder, atomically."""
        import numpy as np

        digests = list(self.rows)
        hashes = np.array([bytes.fromhex(digest) for digest in digests], dtype="S16")
        vectors = np.array([self.rows[digest] for digest in digests], dtype=np.float16).reshape(len(digests), self.dimensions)
        with atomic_file(folder / VECTORS_FILE) as handle:
            np.savez(handle, hashes=hashes, vectors=vectors, model=np.array(self.model))


def digests_of(hashes: "np.ndarray") -> list[str]:
    """The hex content hashes of an ``S16`` array, all 16 bytes of each.

    (Not ``tolist()``: numpy drops a bytes value's trailing zero bytes, so one
    hash in 256 came back short and its article lost its vector.)
    """
    import numpy as np

    return [row.tobytes().hex() for row in np.ascontiguousarray(hashes).view(np.uint8).reshape(len(hashes), 16)]


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
    def for_hashes(cls, hashes: "Sequence[str]", vectors: ArticleVectors) -> "VectorMatrix":
        """Lay out ``vectors`` by document number, from every document's content hash."""
        import numpy as np

        total = len(hashes)
        matrix = np.zeros((total, vectors.dimensions or 1), dtype=np.float32)
        known = np.zeros(total, dtype=bool)
        rows = vectors.rows
        for docnum in range(total):
            vector = rows.get(hashes[docnum])
            if vector is not None:
                matrix[docnum] = vector
                known[docnum] = True
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

    def similarity(self, query: "np.ndarray", docnums: list[int]) -> list[float]:
        """Cosine of ``query`` with each of ``docnums`` (0 for a document without a vector)."""
        rows = self.matrix[docnums] @ query
        return [float(value) if known else 0.0 for value, known in zip(rows.tolist(), self.known[docnums].tolist())]


@dataclass
class SemanticQuery:
    """One query against one searcher's matrix: what :func:`indexer.ranking.fusion.fuse` asks.

    The query is embedded only when first needed, so a query that ranks by
    words alone (a phrase, an exclusion) never pays for it.
    """

    dense: VectorMatrix
    embed: "Callable[[], np.ndarray]"
    searcher: "Searcher"
    #: Texts into the same space, one row each, in well under a millisecond a text (the
    #: fitted query encoder), for reading passages; None where only the model could (older indexes).
    embed_texts: "Callable[[list[str]], np.ndarray] | None" = None
    _vector: "np.ndarray | None" = None

    @property
    def vector(self) -> "np.ndarray":
        if self._vector is None:
            self._vector = self.embed()
        return self._vector

    def nearest(self, count: int) -> dict[int, float]:
        return self.dense.nearest(self.vector, count, self.searcher)

    def similarity(self, docnums: list[int]) -> list[float]:
        return self.dense.similarity(self.vector, docnums) if docnums else []

    def refined(self, docnums: list[int], weight: float) -> "SemanticQuery":
        """This query moved towards the mean vector of ``docnums`` (feedback in the space of meaning)."""
        import numpy as np

        rows = [docnum for docnum in docnums if self.dense.known[docnum]]
        if not rows or weight <= 0:
            return self
        moved = self.vector + weight * self.dense.matrix[rows].mean(axis=0)
        norm = float(np.linalg.norm(moved))
        return SemanticQuery(self.dense, self.embed, self.searcher, self.embed_texts, moved / norm if norm > 0 else moved)
