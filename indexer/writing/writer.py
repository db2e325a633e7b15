"""Whoosh's writer, used the way every build and update here uses it.

Segments stay plain files, a failed commit never leaves the writer's lock
behind, and the ledger of what was indexed is written after each commit.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.writing import IndexWriter

from indexer.corpus.files import CorpusFile
from indexer.index.ledger import FileLedger, Seen

__all__ = ["WRITER_LIMIT_MB", "WRITER_OPTIONS", "commit", "abandon", "seen", "save_ledger", "ledger_from_columns"]

#: Whoosh's pooled writer spills to disk past this many megabytes per process.
WRITER_LIMIT_MB = 256


#: Segments stay as separate files: Whoosh reads a compound segment through a
#: BytesIO copy of each part, so every searcher held a private copy of the
#: postings (measured: a 41 MB index cost each searcher 73 MB). Plain files are
#: read through the OS page cache, shared by every worker.
WRITER_OPTIONS: dict[str, Any] = {"compound": False}



def commit(writer: IndexWriter, **options: Any) -> None:
    """Commit; if that fails part-way, close what the writer holds and release its lock."""
    try:
        writer.commit(**options)
    except BaseException:
        abandon(writer)
        raise


def abandon(writer: IndexWriter) -> None:
    """Cancel a writer, even one whose files can no longer be written.

    Whoosh's cancel() stops at its first error (a full disk fails it too), so
    its two steps are taken one by one: close the segment's files, then the
    writer's searcher, temporary storage and lock.
    """
    for step in (writer._close_segment, writer._finish):
        with contextlib.suppress(Exception):
            step()


def seen(file: CorpusFile, digest: str) -> Seen:
    return (*file.signature, digest)


def save_ledger(ix: whoosh_index.Index, ledger: FileLedger) -> None:
    """Record what this commit indexed; if that fails, the next update just hashes every file."""
    with contextlib.suppress(OSError):
        ledger.save(Path(ix.storage.folder), ix.latest_generation())


def ledger_from_columns(ix: whoosh_index.Index) -> FileLedger:
    """Rebuild a ledger from the index's path and hash columns, with no stat: every file gets hashed."""
    with ix.reader() as reader:
        paths, hashes = reader.column_reader("path"), reader.column_reader("content_hash")
        return FileLedger.of((paths[docnum], (-1, -1, -1, hashes[docnum])) for docnum in reader.all_doc_ids())
