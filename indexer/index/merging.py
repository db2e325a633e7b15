"""When an update merges index segments: by size tier, so a small update stays small.

Each Whoosh commit that merges nothing adds a segment, and every search visits
every segment, so an index updated a thousand times without merging answers
slower and slower. Whoosh's own ``MERGE_SMALL`` avoids that but, on an index
built as two segments of 50,000 articles, it folds one of them into a one-article
update (its rule compares running totals with a Fibonacci number). This policy
merges like a log-structured store: segments are grouped by size tier (1-9
live documents, 10-99, 100-999, ...) and a tier is merged into one segment only
once it holds :data:`SEGMENTS_PER_TIER` of them. An article is then copied once
per tier it climbs, a one-article update merges at most a few small segments,
and the number of segments stays below ``SEGMENTS_PER_TIER`` per tier.
"""

from __future__ import annotations

from typing import Any

from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

__all__ = ["SEGMENTS_PER_TIER", "merge_by_tier", "tier_of"]

#: A tier is merged once it holds this many segments.
SEGMENTS_PER_TIER = 10


def tier_of(live_documents: int) -> int:
    """0 for 0-9 live documents, 1 for 10-99, 2 for 100-999, and so on."""
    return len(str(live_documents)) - 1 if live_documents >= 10 else 0


def merge_by_tier(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """A Whoosh merge policy (``commit(mergetype=...)``): merge every full tier, keep the rest.

    Segments with no live documents left are merged away whatever their tier.
    """
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        live = segment.doc_count()
        tiers.setdefault(tier_of(live) if live else -1, []).append(segment)
    keep: list[Any] = []
    for tier, members in tiers.items():
        if tier >= 0 and len(members) < SEGMENTS_PER_TIER:
            keep.extend(members)
            continue
        for segment in members:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            try:
                writer.add_reader(reader)
            finally:
                reader.close()
    return keep
