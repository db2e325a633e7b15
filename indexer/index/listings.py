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
"""

from __future__ import annotations

import marshal
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from indexer.corpus.blocks import AnswerParts, Passage, answer_parts
from indexer.index.schema import unpack_article
from indexer.index.segment_files import SegmentFile, path_for, write_segment_file

__all__ = ["Listing", "Listings", "write", "listing_of", "SUFFIX", "MAGIC"]

SUFFIX = ".listing"
MAGIC = b"ASLIST02"


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

        self._file = file = SegmentFile(path_for(folder, segment_id, SUFFIX), MAGIC, documents)
        self._offsets: "np.ndarray" = np.asarray(np.memmap(file.path, dtype="<i8", mode="r", offset=file.footer["offsets"], shape=(documents + 1,)))

    def get(self, docnum: int) -> Listing:
        """The listing of the segment's document ``docnum``.

        :raises ValueError: its record does not decode (a damaged file).
        """
        start, end = int(self._offsets[docnum]), int(self._offsets[docnum + 1])
        try:
            article_id, title, url, subject, date, plain, passages = marshal.loads(zlib.decompress(self._file.read(start, end)))
        except (zlib.error, EOFError, TypeError, ValueError) as error:
            raise ValueError(f"{self._file.path}: document {docnum}'s record is damaged ({error})") from None
        if passages and len(passages[0]) == 2:  # (passages kept as text: see _spans)
            parts = AnswerParts(plain, tuple(Passage(block, text) for block, text in passages))
        else:
            parts = AnswerParts(plain, tuple(Passage(block, plain[start:end]) for block, start, end in passages),
                                tuple((start, end) for _, start, end in passages))
        return Listing(article_id, title, url, subject, date, parts)


def _spans(parts: AnswerParts) -> tuple[tuple[Any, ...], ...]:
    """Each passage as (block, start, end) in the plain text (the answer's text kept once), or,
    should one not be placed there, every passage as (block, text)."""
    if parts.places is None:
        return tuple((passage.block, passage.text) for passage in parts.passages)
    return tuple((passage.block, start, end) for passage, (start, end) in zip(parts.passages, parts.places))


def write(folder: Path, reader: Any) -> Path:
    """Write the listing file of one Whoosh segment (``reader``, a SegmentReader) into ``folder``.

    Every document of the segment is in it, deleted or not (a deleted one is never a result).
    """
    import numpy as np

    def body(out: BinaryIO) -> dict[str, Any]:
        offsets = [out.tell()]
        for docnum in range(reader.doc_count_all()):
            shown = listing_of(unpack_article(reader.stored_fields(docnum)))
            record = (shown.id, shown.title, shown.url, shown.subject, shown.date, shown.parts.plain, _spans(shown.parts))
            out.write(zlib.compress(marshal.dumps(record), 1))
            offsets.append(out.tell())
        out.write(b"\0" * (-out.tell() % 8))
        at = out.tell()
        out.write(np.asarray(offsets, dtype="<i8").tobytes())
        return {"offsets": at}

    return write_segment_file(path_for(folder, reader.segment().segment_id(), SUFFIX), MAGIC, reader.doc_count_all(), body)
