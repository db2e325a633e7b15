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

Where the index ranks by meaning, each record also holds its passages' word
pieces (:mod:`indexer.semantic.pieces`), so a search reads them by meaning
without cutting their text again. Files of the format before (``ASLIST02``)
are still read, without pieces, and replaced at the next ``index update``.
"""

from __future__ import annotations

import marshal
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Sequence

from indexer.corpus.blocks import AnswerParts, Passage, PassagePieces, answer_parts
from indexer.index.schema import unpack_article
from indexer.index.segment_files import SegmentFile, path_for, whole, write_segment_file

__all__ = ["Listing", "Listings", "write", "listing_of", "SUFFIX", "MAGIC"]

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
        self._tokenizer: str | None = file.footer.get("tokenizer")  # which tokenizer cut the pieces (None: none kept)
        self._dtype = str(file.footer.get("pieces_dtype", "<u2"))

    def get(self, docnum: int) -> Listing:
        """The listing of the segment's document ``docnum``.

        :raises ValueError: its record does not decode (a damaged file).
        """
        start, end = int(self._offsets[docnum]), int(self._offsets[docnum + 1])
        try:
            record = marshal.loads(zlib.decompress(self._file.read(start, end)))
            article_id, title, url, subject, date, plain, passages = record[:7]
            ids, counts = record[7:] or (None, ())
        except (zlib.error, EOFError, TypeError, ValueError) as error:
            raise ValueError(f"{self._file.path}: document {docnum}'s record is damaged ({error})") from None
        pieces = None
        if self._tokenizer is not None and ids is not None and len(counts) == len(passages):
            pieces = PassagePieces(self._tokenizer, ids, counts, self._dtype)
        if passages and len(passages[0]) == 2:  # (passages kept as text: see _spans)
            parts = AnswerParts(plain, tuple(Passage(block, text) for block, text in passages), pieces=pieces)
        else:
            parts = AnswerParts(plain, tuple(Passage(block, plain[start:end]) for block, start, end in passages),
                                tuple((start, end) for _, start, end in passages), pieces)
        return Listing(article_id, title, url, subject, date, parts)


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
        offsets = [out.tell()]
        for docnum in range(reader.doc_count_all()):
            shown = listing_of(unpack_article(reader.stored_fields(docnum)))
            record: tuple[Any, ...] = (shown.id, shown.title, shown.url, shown.subject, shown.date, shown.parts.plain, _spans(shown.parts))
            if cut is not None:
                pieces = cut([passage.text for passage in shown.parts.passages])
                packed = np.fromiter((i for ids in pieces for i in ids), dtype=dtype, count=sum(map(len, pieces)))
                record += (packed.tobytes(), tuple(len(ids) for ids in pieces))
            out.write(zlib.compress(marshal.dumps(record), 1))
            offsets.append(out.tell())
        out.write(b"\0" * (-out.tell() % 8))
        at = out.tell()
        out.write(np.asarray(offsets, dtype="<i8").tobytes())
        return {"offsets": at} if cut is None else {"offsets": at, "tokenizer": cut.fingerprint, "pieces_dtype": dtype}

    return write_segment_file(path_for(folder, reader.segment().segment_id(), SUFFIX), MAGIC, reader.doc_count_all(), body)

