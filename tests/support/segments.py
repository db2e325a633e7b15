"""An index's live generation folder and its Whoosh segments, for tests of what lies beside them."""

from __future__ import annotations

from pathlib import Path

from indexer import IndexStore

__all__ = ["live_folder", "segment_ids"]


def live_folder(index: Path) -> Path:
    """The folder of the generation ``index``'s pointer names."""
    store = IndexStore(index)
    return store.root / store.require_pointer().dir


def segment_ids(index: Path) -> list[str]:
    """The ids of the live generation's Whoosh segments."""
    store = IndexStore(index)
    ix = store.open(store.require_pointer())
    try:
        return [segment.segment_id() for segment in ix._segments()]
    finally:
        ix.close()
