"""Each segment's postings as plain arrays, so a query's words are read in a few system calls.

Whoosh keeps a word's postings as pickled, zlib-compressed blocks of about a
hundred documents; unpickling and inflating them was half of a plain query's
time at 100,000 articles (tests/bench/RESULTS.md). Beside each segment, build
and update write ``MAIN_<segment>.terms``: for every word of the searched
fields, the segment's documents holding it (int32) and its frequency in each
(uint8), one record a word, and the words of each field sorted. A searcher
memory-maps the sorted words (a binary search touches a few pages) and reads a
word's record with one ``pread``: through the page cache, which every worker
shares, and into memory that is freed when the query ends.

The file is a cache of what Whoosh holds, never the index of record. A segment
without it (an index written before it, one still being written, one a later
commit has deleted) and a word it leaves out (longer than :data:`MAX_KEY_BYTES`,
or a frequency that is not a whole number up to 255) are read from Whoosh as
before, to the same scores. A segment never changes once written (its deletions
are kept apart and applied by the reader), so neither does its file; Whoosh's
own clean-up deletes it with the segment's other files, since it has their name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator

from indexer.index.schema import FIELD_BOOSTS
from indexer.index.segment_files import SegmentFile, path_for, write_segment_file

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TermArrays", "write", "decoded_blocks", "OMITTED", "MAX_KEY_BYTES", "SUFFIX", "MAGIC"]

SUFFIX = ".terms"
MAGIC = b"ASTERMS1"
MAX_KEY_BYTES = 64
_ALIGN = 64

#: What :meth:`TermArrays.postings` answers for a word the file leaves out: read it from Whoosh.
OMITTED: Any = object()


class TermArrays:
    """One segment's postings file, open: safe to share between threads (reads are ``pread``)."""

    def __init__(self, folder: Path, segment_id: str, documents: int) -> None:
        """:raises OSError: no such file; :raises ValueError: not a whole file of this segment."""
        import numpy as np

        self._file = file = SegmentFile(path_for(folder, segment_id, SUFFIX), MAGIC, documents)
        self._fields: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        for field, spec in file.footer["fields"].items():
            count, width = spec["count"], spec["width"]
            keys = np.memmap(file.path, dtype=f"S{max(width, 1)}", mode="r", offset=spec["keys"], shape=(count,)) if count else np.empty(0, "S1")
            starts = np.memmap(file.path, dtype="<i8", mode="r", offset=spec["starts"], shape=(count + 1,))
            self._fields[field] = (keys, starts, width)
        self._omitted = {(field, term.encode("utf-8")) for field, term in file.footer["omitted"]}

    def postings(self, field: str, term: bytes) -> "tuple[np.ndarray, np.ndarray] | None":
        """(segment-local document numbers, frequencies) of ``term`` in ``field``, None if the
        segment has no such word, or :data:`OMITTED` (read it from Whoosh)."""
        import numpy as np

        where = self._record(field, term)
        if where is None or where is OMITTED:
            return where
        start, end = where
        record = self._file.read(start, end)
        count = (end - start) // 5
        return np.frombuffer(record, dtype="<i4", count=count), np.frombuffer(record, dtype=np.uint8, offset=4 * count)

    def doc_frequency(self, field: str, term: bytes) -> int | None:
        """How many of the segment's documents (deleted ones too, as Whoosh counts) hold ``term``;
        None for a word the file leaves out."""
        where = self._record(field, term)
        if where is OMITTED:
            return None
        return 0 if where is None else (where[1] - where[0]) // 5

    def _record(self, field: str, term: bytes) -> Any:
        """(start, end) of the word's record; None if the segment has no such word; or OMITTED."""
        import numpy as np

        found = self._fields.get(field)
        if found is None or (field, term) in self._omitted:
            return OMITTED
        keys, starts, width = found
        if len(term) > width or not len(keys):
            return None
        at = int(np.searchsorted(keys, term))
        if at == len(keys) or keys[at] != term:
            return None
        return int(starts[at]), int(starts[at + 1])


def write(folder: Path, reader: Any) -> Path:
    """Write the postings file of one Whoosh segment (``reader``, a SegmentReader) into ``folder``.

    Every document of the segment is in it, deleted or not: readers apply the
    segment's deletions, which change; the file does not.
    """
    def body(out: BinaryIO) -> dict[str, Any]:
        footer: dict[str, Any] = {"fields": {}, "omitted": []}
        for field in FIELD_BOOSTS:
            keys, starts, omitted = _write_records(out, reader, field)
            footer["omitted"].extend([field, term.decode("utf-8")] for term in omitted)
            footer["fields"][field] = _write_keys(out, keys, starts)
        return footer

    return write_segment_file(path_for(folder, reader.segment().segment_id(), SUFFIX), MAGIC, reader.doc_count_all(), body)


def _write_records(out: Any, reader: Any, field: str) -> tuple[list[bytes], list[int], list[bytes]]:
    """Write one record per word of ``field``; return the words kept, their records' offsets, and those left out."""
    import numpy as np

    keys: list[bytes] = []
    starts: list[int] = []
    omitted: list[bytes] = []
    if field not in reader.schema:
        return keys, starts, omitted
    for term, ids, tfs in _raw_postings(reader, field):
        whole = tfs.astype(np.uint8)
        if len(term) > MAX_KEY_BYTES or not len(ids) or not np.array_equal(whole, tfs) or tfs.min() < 1:
            omitted.append(term)
            continue
        keys.append(term)
        starts.append(out.tell())
        out.write(ids.astype("<i4").tobytes())
        out.write(whole.tobytes())
    starts.append(out.tell())
    return keys, starts, omitted


def _write_keys(out: Any, keys: list[bytes], starts: list[int]) -> dict[str, int]:
    """Write a field's sorted words and record offsets, aligned for memory-mapping; return where."""
    import numpy as np

    width = max(map(len, keys), default=0)
    words = np.array(keys, dtype=f"S{max(width, 1)}")
    if len(words) > 1 and not bool(np.all(words[:-1] < words[1:])):
        raise ValueError("a segment's words were not in byte order")  # (Whoosh keeps them so)
    _pad(out)
    keys_at = out.tell()
    out.write(words.tobytes())
    _pad(out)
    starts_at = out.tell()
    out.write(np.asarray(starts, dtype="<i8").tobytes())
    return {"count": len(keys), "width": width, "keys": keys_at, "starts": starts_at}


def _pad(out: Any) -> None:
    out.write(b"\0" * (-out.tell() % _ALIGN))


def _raw_postings(reader: Any, field: str) -> "Iterator[tuple[bytes, np.ndarray, np.ndarray]]":
    """(word, document numbers, frequencies) of every word of ``field`` in the segment, deletions ignored."""
    import numpy as np

    terms = reader._terms  # (the segment's own term table: its matchers do not filter deletions)
    form = reader.schema[field].format
    for (name, term), _ in terms.items_from(field, b""):
        if name != field:
            break
        blocks = list(decoded_blocks(terms.matcher(field, term, form)))
        if blocks:
            yield term, np.concatenate([ids for ids, _ in blocks]), np.concatenate([tfs for _, tfs in blocks])
        else:
            yield term, np.empty(0, np.int64), np.empty(0)


def decoded_blocks(matcher: Any) -> "Iterator[tuple[np.ndarray, np.ndarray]]":
    """(document numbers, frequencies) arrays of a Whoosh posting list, one block at a time where the codec allows."""
    import numpy as np

    if all(hasattr(matcher, name) for name in ("_read_data", "_data", "_byteids", "_next_block")) and not matcher._byteids:
        # whoosh 2.7's W3 leaf matcher: decode each block's data ourselves, as arrays (its own
        # decoding adds up the id deltas and fills default weights one posting at a time)
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            ids, weights = matcher._data[0], matcher._data[1]
            ids = np.cumsum(np.asarray(ids, dtype=np.int64))  # (stored as deltas)
            if weights is None or isinstance(weights, float):
                tfs = np.full(len(ids), 1.0 if weights is None else weights)
            else:
                tfs = np.asarray(weights, dtype=np.float64)
            yield ids, tfs
            matcher._next_block()
        return
    docnums: list[int] = []
    frequencies: list[float] = []
    while matcher.is_active():
        docnums.append(matcher.id())
        frequencies.append(matcher.weight())
        matcher.next()
    if docnums:
        yield np.asarray(docnums, dtype=np.int64), np.asarray(frequencies, dtype=np.float64)
