"""A replica serving one published snapshot while a second is published beside it (the fault tests' set-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer import SearchService, build_index
from indexer.index.snapshots import Snapshot, publish_index

__all__ = ["replica_and_second_snapshot"]


def replica_and_second_snapshot(index_dir: Path, snapshots: Path, query: str) -> tuple[SearchService, list[Any], Snapshot]:
    """Publish ``index_dir``, open a replica on it (reopening at every search) and note what it answers
    for ``query``; then rebuild from the corpus beside the index and publish again, not yet served."""
    publish_index(index_dir, snapshots)
    replica = SearchService(snapshots, refresh_seconds=0)
    before = replica.search(query).as_dict()["results"]
    build_index(index_dir.parent / "corpus", index_dir)
    return replica, before, publish_index(index_dir, snapshots)
