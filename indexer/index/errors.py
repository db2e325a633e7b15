"""What can go wrong with an index folder; every message says what to do."""

from __future__ import annotations

__all__ = ["IndexStoreError", "IndexMissing", "IndexLocked", "SnapshotError"]


class IndexStoreError(RuntimeError):
    """The index folder cannot be used as asked; the message says what to do."""


class IndexMissing(IndexStoreError):
    """No built index at the folder."""


class IndexLocked(IndexStoreError):
    """Another build or update kept the write lock past the wait."""


class SnapshotError(IndexStoreError):
    """A snapshot is incomplete or does not match its manifest."""
