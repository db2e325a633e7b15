"""What a results page shows of each document, ready: its title, url, subject, date and answer's parts.

A result needs its article's stored fields (a JSON document, inflated and
parsed) and its answer cut into blocks and passages (:func:`answer_parts`):
half of a results page's time at 100,000 articles, each time an article is
shown. Beside each segment, build and update write ``MAIN_<segment>.listing``:
for each document, those fields and parts as one small compressed record, and
the records' offsets. A searcher reads a result's record with one ``pread``.

A cache like the segment's postings file (:mod:`indexer.index.segment_files`):
where it is missing or not whole, results are made from the stored fields as
before, to the same page.

Where the index ranks by meaning, each record is followed by its passages'
word pieces (:mod:`indexer.semantic.pieces`, uncompressed, read only for the
few results read by meaning), so a search reads them by meaning without
cutting their text again. Files of the format before (``ASLIST02``) are still
read, without pieces, and replaced at the next ``index update``.
"""

from __future__ import annotations

import itertools
import marshal
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Sequence

from indexer.corpus.blocks import AnswerParts, Passage, answer_parts
from indexer.index.schema import unpack_article
from indexer.index.segment_files import SegmentFile, path_for, whole, write_segment_file

__all__ = ["Listing", "Listings", "StoredPieces", "write", "listing_of", "SUFFIX", "MAGIC"]

SUFFIX = ".listing"
MAGIC = b"ASLIST03"
#: The format before: the same records without the passages' word pieces.
EARLIER_MAGIC = b"ASLIST02"


class PieceCutter(Protocol):
    """Texts -> their word-piece ids (:class:`indexer.semantic.pieces.PieceCutter`)."""

    fingerprint: str
    vocabulary_size: int

    def __call__(self, texts: Sequence[str]) -> list[list[int]]: ...


@dataclass(frozen=True)
class Listing:
    """One article as a result shows it."""

    id: int
    title: str
    url: str
    subject: str
    date: Any  # as the article has it (None: undated)
    parts: AnswerParts


def listing_of(data: dict[str, Any], parts: AnswerParts | None = None) -> Listing:
    """An article's listing, from its unpacked stored fields (and its answer's parts, if known)."""
    return Listing(data["id"], data["title"], data["url"], data.get("subject", ""), data.get("date"),
                   parts if parts is not None else answer_parts(data["answer"]))


class Listings:
    """One segment's listing file, open: safe to share between threads (reads are ``pread``)."""

    def __init__(self, folder: Path, segment_id: str, documents: int) -> None:
        """:raises OSError: no such file; :raises ValueError: not a whole file of this segment."""
        import numpy as np

        path = path_for(folder, segment_id, SUFFIX)
        self._file = file = SegmentFile(path, EARLIER_MAGIC if whole(path, EARLIER_MAGIC) else MAGIC, documents)
        self._offsets: "np.ndarray" = np.asarray(np.memmap(file.path, dtype="<i8", mode="r", offset=file.footer["offsets"], shape=(documents + 1,)))
        # Where each record's pieces start (its record ends there), if the file keeps them.
        self._tokenizer: str | None = file.footer.get("tokenizer")
        self._pieces_at: "np.ndarray | None" = None
        if self._tokenizer is not None:
            self._pieces_at = np.asarray(np.memmap(file.path, dtype="<i8", mode="r", offset=file.footer["pieces"], shape=(documents,)))
        self._dtype = str(file.footer.get("pieces_dtype", "<u2"))

    def get(self, docnum: int) -> Listing:
        """The listing of the segment's document ``docnum``.

        :raises ValueError: its record does not decode (a damaged file).
        """
        start, end = int(self._offsets[docnum]), int(self._offsets[docnum + 1])
        pieces: StoredPieces | None = None
        if self._pieces_at is not None and self._tokenizer is not None:
            pieces = StoredPieces(self._tokenizer, self._file, int(self._pieces_at[docnum]), end, self._dtype)
            end = pieces.start
        try:
            article_id, title, url, subject, date, plain, passages = marshal.loads(zlib.decompress(self._file.read(start, end)))
        except (zlib.error, EOFError, TypeError, ValueError) as error:
            raise ValueError(f"{self._file.path}: document {docnum}'s record is damaged ({error})") from None
        if passages and len(passages[0]) == 2:  # (passages kept as text: see _spans)
            parts = AnswerParts(plain, tuple(Passage(block, text) for block, text in passages), pieces=pieces)
        else:
            parts = AnswerParts(plain, tuple(Passage(block, plain[start:end]) for block, start, end in passages),
                                tuple((start, end) for _, start, end in passages), pieces)
        return Listing(article_id, title, url, subject, date, parts)


class StoredPieces:
    """One answer's passages' word pieces in a listing file, read when first asked for
    (only the first few results of a page are read by meaning).

    Stored right after the document's record: the passage count (4 bytes), each
    passage's count of ids (2 bytes each), then every id (``dtype``), little-endian.
    """

    __slots__ = ("tokenizer", "start", "_file", "_end", "_dtype", "_read")

    def __init__(self, tokenizer: str, file: SegmentFile, start: int, end: int, dtype: str) -> None:
        self.tokenizer = tokenizer
        self.start = start
        self._file, self._end, self._dtype = file, end, dtype
        self._read: "tuple[Any, list[int]] | None" = None

    def of(self, index: int) -> Any:
        """The ids of passage ``index`` (a numpy array), or None where the file does not hold them whole."""
        import numpy as np

        if self._read is None:
            data = self._file.read(self.start, self._end)
            passages = int.from_bytes(data[:4], "little")
            try:
                counts = np.frombuffer(data, dtype="<u2", count=passages, offset=4)
                ids = np.frombuffer(data, dtype=self._dtype, offset=4 + 2 * passages)
            except ValueError:
                return None  # (damaged: the passages are cut from their text instead)
            if len(ids) != int(counts.sum()):
                return None
            self._read = ids, [0, *itertools.accumulate(counts.tolist())]
        ids, starts = self._read
        return ids[starts[index] : starts[index + 1]] if index + 1 < len(starts) else None


def _spans(parts: AnswerParts) -> tuple[tuple[Any, ...], ...]:
    """Each passage as (block, start, end) in the plain text (the answer's text kept once), or,
    should one not be placed there, every passage as (block, text)."""
    if parts.places is None:
        return tuple((passage.block, passage.text) for passage in parts.passages)
    return tuple((passage.block, start, end) for passage, (start, end) in zip(parts.passages, parts.places))


def write(folder: Path, reader: Any, cut: PieceCutter | None = None) -> Path:
    """Write the listing file of one Whoosh segment (``reader``, a SegmentReader) into ``folder``.

    Every document of the segment is in it, deleted or not (a deleted one is never a result).
    With ``cut``, each record holds its passages' word pieces as well.
    """
    import numpy as np

    dtype = "<u2" if cut is None or cut.vocabulary_size <= 1 << 16 else "<u4"

    def body(out: BinaryIO) -> dict[str, Any]:
        offsets, pieces_at = [out.tell()], []
        for docnum in range(reader.doc_count_all()):
            shown = listing_of(unpack_article(reader.stored_fields(docnum)))
            record = (shown.id, shown.title, shown.url, shown.subject, shown.date, shown.parts.plain, _spans(shown.parts))
            out.write(zlib.compress(marshal.dumps(record), 1))
            if cut is not None:
                pieces_at.append(out.tell())
                pieces = cut([passage.text for passage in shown.parts.passages])
                out.write(len(pieces).to_bytes(4, "little"))
                out.write(np.asarray([len(ids) for ids in pieces], dtype="<u2").tobytes())
                out.write(np.fromiter((i for ids in pieces for i in ids), dtype=dtype, count=sum(map(len, pieces))).tobytes())
            offsets.append(out.tell())
        footer: dict[str, Any] = {"offsets": _array(out, offsets)}
        if cut is not None:
            footer.update(pieces=_array(out, pieces_at), tokenizer=cut.fingerprint, pieces_dtype=dtype)
        return footer

    return write_segment_file(path_for(folder, reader.segment().segment_id(), SUFFIX), MAGIC, reader.doc_count_all(), body)


def _array(out: BinaryIO, values: list[int]) -> int:
    """Write ``values`` as little-endian int64, 8-byte aligned; return where they start."""
    import numpy as np

    out.write(b"\0" * (-out.tell() % 8))
    at = out.tell()
    out.write(np.asarray(values, dtype="<i8").tobytes())
    return at
