"""Each segment's postings as plain arrays, so a query's words are read in a few system calls.

Whoosh keeps a word's postings as pickled, zlib-compressed blocks of about a
hundred documents; unpickling and inflating them was half of a plain query's
time at 100,000 articles (tests/bench/RESULTS.md). Beside each segment, build
and update write ``MAIN_<segment>.terms``: for every word of the searched
fields, one record: the segment's documents holding it in any of them (int32),
then its frequency in each (a byte) for each field that has it; beside the
records, the words sorted and each word's document frequency per field. BM25F
sums a word's fields before saturating it, so one record a word serves it
whole. A searcher memory-maps the sorted words (a binary search touches a few
pages) and reads a word's record with one ``pread``: through the page cache,
which every worker shares, and into memory that is freed when the query ends.

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
MAGIC = b"ASTERMS2"
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
        footer = file.footer
        count, width = footer["count"], footer["width"]
        if footer["fields"] != list(FIELD_BOOSTS):
            raise ValueError(f"{file.path}: written for the fields {footer['fields']}")
        self._width = width
        self._keys = np.asarray(np.memmap(file.path, dtype=f"S{max(width, 1)}", mode="r", offset=footer["keys"], shape=(count,))) if count else np.empty(0, "S1")
        self._starts = np.asarray(np.memmap(file.path, dtype="<i8", mode="r", offset=footer["starts"], shape=(count + 1,)))
        self._frequencies = np.asarray(np.memmap(file.path, dtype="<i4", mode="r", offset=footer["frequencies"], shape=(max(count, 1), len(FIELD_BOOSTS))))
        self._omitted = {term.encode("utf-8") for term in footer["omitted"]}

    def postings(self, term: bytes) -> "tuple[np.ndarray, list[np.ndarray | None]] | None":
        """The segment-local documents holding ``term`` in any searched field (ascending), and its
        frequency in each of them per field (in FIELD_BOOSTS order; None: in no document's);
        None if the segment has no such word, or :data:`OMITTED` (read it from Whoosh)."""
        import numpy as np

        at = self._find(term)
        if at is None or at is OMITTED:
            return at
        start, end = int(self._starts[at]), int(self._starts[at + 1])
        present = [bool(count) for count in self._frequencies[at].tolist()]
        record = self._file.read(start, end)
        count = (end - start) // (4 + sum(present))
        docs = np.frombuffer(record, dtype="<i4", count=count)
        columns: list[np.ndarray | None] = []
        offset = 4 * count
        for here in present:
            columns.append(np.frombuffer(record, dtype=np.uint8, count=count, offset=offset) if here else None)
            offset += count if here else 0
        return docs, columns

    def frequencies(self, term: bytes) -> list[int] | None:
        """``term``'s document frequency in each searched field (FIELD_BOOSTS order; deleted documents
        too); None for a word the file leaves out."""
        at = self._find(term)
        if at is OMITTED:
            return None
        return [0] * len(FIELD_BOOSTS) if at is None else [int(count) for count in self._frequencies[at].tolist()]

    def _find(self, term: bytes) -> Any:
        """The word's row; None if the segment has no such word; or OMITTED."""
        import numpy as np

        if term in self._omitted:
            return OMITTED
        if len(term) > self._width or not len(self._keys):
            return None
        at = int(np.searchsorted(self._keys, term))
        if at == len(self._keys) or self._keys[at] != term:
            return None
        return at


def write(folder: Path, reader: Any) -> Path:
    """Write the postings file of one Whoosh segment (``reader``, a SegmentReader) into ``folder``.

    Every document of the segment is in it, deleted or not: readers apply the
    segment's deletions, which change; the file does not.
    """
    def body(out: BinaryIO) -> dict[str, Any]:
        keys, starts, frequencies, omitted = _write_records(out, reader)
        return {"fields": list(FIELD_BOOSTS), "omitted": [term.decode("utf-8") for term in omitted], **_write_keys(out, keys, starts, frequencies)}

    return write_segment_file(path_for(folder, reader.segment().segment_id(), SUFFIX), MAGIC, reader.doc_count_all(), body)


def _write_records(out: Any, reader: Any) -> tuple[list[bytes], list[int], list[list[int]], list[bytes]]:
    """Write one record per word of the searched fields: the documents holding it in any of them,
    then its frequencies there, field by field (only the fields that have it).

    Returns the words kept, their records' offsets, their document frequencies per field,
    and the words left out (read from Whoosh).
    """
    import numpy as np

    fields = [field for field in FIELD_BOOSTS if field in reader.schema]
    by_field = {field: set(_terms(reader, field)) for field in fields}
    keys: list[bytes] = []
    starts: list[int] = []
    frequencies: list[list[int]] = []
    omitted: list[bytes] = []
    for term in sorted(set().union(*by_field.values())):
        postings = [_raw_postings(reader, field, term) if term in by_field.get(field, ()) else None for field in FIELD_BOOSTS]
        kept = _as_counts(postings)
        if len(term) > MAX_KEY_BYTES or kept is None:
            omitted.append(term)
            continue
        docs = np.unique(np.concatenate([found[0] for found in postings if found is not None]))
        keys.append(term)
        starts.append(out.tell())
        frequencies.append([0 if found is None else len(found[0]) for found in postings])
        out.write(docs.astype("<i4").tobytes())
        for field_postings in kept:
            if field_postings is not None:
                column = np.zeros(len(docs), dtype=np.uint8)
                column[np.searchsorted(docs, field_postings[0])] = field_postings[1]
                out.write(column.tobytes())
    starts.append(out.tell())
    return keys, starts, frequencies, omitted


def _as_counts(postings: "list[tuple[np.ndarray, np.ndarray] | None]") -> "list[tuple[np.ndarray, np.ndarray] | None] | None":
    """Each field's (documents, frequencies as bytes); None if a frequency is not a whole number 1-255."""
    import numpy as np

    kept: list[tuple[np.ndarray, np.ndarray] | None] = []
    for found in postings:
        if found is None:
            kept.append(None)
            continue
        ids, tfs = found
        counts = tfs.astype(np.uint8)
        if not len(ids) or tfs.min() < 1 or not np.array_equal(counts, tfs):
            return None
        kept.append((ids, counts))
    return kept


def _write_keys(out: Any, keys: list[bytes], starts: list[int], frequencies: list[list[int]]) -> dict[str, int]:
    """Write the sorted words, their records' offsets and frequencies, aligned for memory-mapping; return where."""
    import numpy as np

    width = max(map(len, keys), default=0)
    words = np.array(keys, dtype=f"S{max(width, 1)}")
    if len(words) > 1 and not bool(np.all(words[:-1] < words[1:])):
        raise ValueError("the words were not in byte order")  # (numpy compares as Python does)
    _pad(out)
    keys_at = out.tell()
    out.write(words.tobytes())
    _pad(out)
    starts_at = out.tell()
    out.write(np.asarray(starts, dtype="<i8").tobytes())
    _pad(out)
    frequencies_at = out.tell()
    out.write(np.asarray(frequencies or [[0] * len(FIELD_BOOSTS)], dtype="<i4").tobytes())
    return {"count": len(keys), "width": width, "keys": keys_at, "starts": starts_at, "frequencies": frequencies_at}


def _pad(out: Any) -> None:
    out.write(b"\0" * (-out.tell() % _ALIGN))


def _terms(reader: Any, field: str) -> "Iterator[bytes]":
    """Every word of ``field`` in the segment."""
    for (name, term), _ in reader._terms.items_from(field, b""):  # (the segment's own term table)
        if name != field:
            return
        yield term


def _raw_postings(reader: Any, field: str, term: bytes) -> "tuple[np.ndarray, np.ndarray]":
    """(document numbers, frequencies) of ``term`` in ``field`` in the segment, deletions ignored."""
    import numpy as np

    terms = reader._terms  # (its matchers do not filter deletions)
    blocks = list(decoded_blocks(terms.matcher(field, term, reader.schema[field].format)))
    if not blocks:
        return np.empty(0, np.int64), np.empty(0)
    return np.concatenate([ids for ids, _ in blocks]), np.concatenate([tfs for _, tfs in blocks])


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
