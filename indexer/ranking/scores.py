"""Scored documents as two arrays, from BM25F to the page: what a dict of them would say, in numpy.

A common word matches most of a large index: at 100,000 articles one query's
scores can hold 50,000 documents, and turning them into a dict, a frozenset
for the facets, arrays again to pick the best ten, and another dict to fuse
them with meaning cost more than scoring them. :class:`Scores` keeps them as
the arrays BM25F made, sorted by document number, and answers the few
questions the ranking asks of them (a score, membership, the best few) with
binary searches and vectorised picks, in the order a dict and ``heapq`` gave.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Iterator, Mapping, SupportsIndex

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Scores"]


class Scores:
    """Documents (ascending, distinct) and their scores; immutable."""

    __slots__ = ("docs", "values")

    def __init__(self, docs: "np.ndarray", values: "np.ndarray") -> None:
        self.docs = docs  # int64, ascending
        self.values = values  # float64, one per document

    @classmethod
    def empty(cls) -> "Scores":
        import numpy as np

        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))

    @classmethod
    def of(cls, scores: Mapping[int, float]) -> "Scores":
        """From a mapping of document number to score (any order)."""
        import numpy as np

        docs = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        order = np.argsort(docs, kind="stable")
        return cls(docs[order], values[order])

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[int]:
        return iter(self.docs.tolist())

    def __contains__(self, docnum: object) -> bool:
        # (a numpy integer is one too; a string or None is no document number)
        return isinstance(docnum, SupportsIndex) and self._at(operator.index(docnum)) is not None

    def __getitem__(self, docnum: int) -> float:
        at = self._at(docnum)
        if at is None:
            raise KeyError(docnum)
        return float(self.values[at])

    def get(self, docnum: int, default: float = 0.0) -> float:
        at = self._at(docnum)
        return default if at is None else float(self.values[at])

    def items(self) -> list[tuple[int, float]]:
        return list(zip(self.docs.tolist(), self.values.tolist()))

    def lookup(self, docnums: "np.ndarray") -> "tuple[np.ndarray, np.ndarray]":
        """For each of ``docnums``: whether it is scored, and its score (0 where not)."""
        import numpy as np

        at = np.minimum(np.searchsorted(self.docs, docnums), max(len(self.docs) - 1, 0))
        found = self.docs[at] == docnums if len(self.docs) else np.zeros(len(docnums), dtype=bool)
        return found, np.where(found, self.values[at] if len(self.docs) else 0.0, 0.0)

    def where(self, keep: "np.ndarray") -> "Scores":
        """Only the documents where the boolean array ``keep`` (one per scored document) is true."""
        return Scores(self.docs[keep], self.values[keep])

    def within(self, allowed: "np.ndarray") -> "Scores":
        """Only the documents among ``allowed`` (document numbers, any order)."""
        import numpy as np

        return self.where(np.isin(self.docs, allowed))

    def updated(self, extra: "Scores") -> "Scores":
        """These scores with those of ``extra`` set (added where not scored)."""
        import numpy as np

        if not len(extra):
            return self
        if not len(self.docs):
            return extra
        # Both sides are sorted: find extra's places by binary search and merge (sorting the union
        # again cost a fusion a tenth of a millisecond at a few thousand matches; np.insert, twice,
        # about as much in its own checks).
        at = np.searchsorted(self.docs, extra.docs)
        present = self.docs[np.minimum(at, len(self.docs) - 1)] == extra.docs
        values = self.values.copy()
        values[at[present]] = extra.values[present]
        if present.all():
            return Scores(self.docs, values)
        absent = ~present
        added = np.flatnonzero(absent)
        # Where each added document lands in the merged arrays: its place among these, plus the
        # added ones before it.
        landing = at[added] + np.arange(len(added))
        docs = np.empty(len(self.docs) + len(added), dtype=self.docs.dtype)
        merged = np.empty(len(docs), dtype=values.dtype)
        kept = np.ones(len(docs), dtype=bool)
        kept[landing] = False
        docs[kept], docs[landing] = self.docs, extra.docs[added]
        merged[kept], merged[landing] = values, extra.values[added]
        return Scores(docs, merged)

    def top(self, count: int) -> list[tuple[int, float]]:
        """The ``count`` best (document number, score) pairs: highest score first, ties by document number."""
        docs, values = self.best(count)
        return list(zip(docs.tolist(), values.tolist()))

    def best(self, count: int) -> "tuple[np.ndarray, np.ndarray]":
        """:meth:`top` as two arrays, documents and scores (for numpy work: no pairs made)."""
        import numpy as np

        if count <= 0 or not len(self.docs):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        values = self.values
        if count < len(values):
            kth = values[np.argpartition(-values, count - 1)[count - 1]]
            contenders = np.flatnonzero(values >= kth)  # every document tied with the last place too
        else:
            contenders = np.arange(len(values))
        order = contenders[np.lexsort((self.docs[contenders], -values[contenders]))][:count]
        return self.docs[order], values[order]

    def _at(self, docnum: int) -> int | None:
        import numpy as np

        at = int(np.searchsorted(self.docs, docnum))
        return at if at < len(self.docs) and int(self.docs[at]) == docnum else None
