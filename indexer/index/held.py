"""Open a searcher that no later commit can pull a file from under.

Whoosh opens a segment's terms and postings when it makes the segment's reader,
but its stored fields, field lengths and columns only on their first read, and
it looks in the folder again each time it asks whether a column exists. An
``index update`` whose commit merges segments deletes the merged ones' files as
soon as its table of contents is written. A searcher opened a moment before
then found files gone on its first read of them: ``None`` for stored fields,
or a column reader laid over the wrong segment (``IndexError``), which is how
searches and article pages answered 500 under update churn.

So every per-document file a search reads is opened, and every column reader
it uses is made, when the searcher is opened, and the searcher is opened again
if a commit landed meanwhile (as Whoosh's ``Index.reader()`` retries a file
that vanished). Once open, deleted files stay readable: the searcher holds them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from whoosh.index import Index
from whoosh.searching import Searcher

__all__ = ["HeldSearcher", "open_held", "HELD_COLUMNS"]

#: The columns read at query time: facet counts, ids for exports, vectors by content, dates to filter and sort by.
HELD_COLUMNS = ("subject", "article_id", "content_hash", "date")
#: Columns read as Whoosh stores them: a date as a whole number that grows with it (an undated
#: article's, the column default, overflows when translated to a datetime).
RAW_COLUMNS = frozenset({"date"})
#: How often to reopen when commits keep landing while the files are opened.
RETRIES = 20


class HeldSearcher:
    """A Whoosh searcher with its files open, and what is read once per searcher: columns, field lengths."""

    def __init__(self, searcher: Searcher, columns: dict[str, Any]) -> None:
        self.searcher = searcher
        self._columns = columns
        self._values: dict[str, list[Any]] = {}
        self._leaves = [reader for reader, _ in searcher.reader().leaf_readers()]
        self._length_arrays: dict[tuple[int, str], Any] = {}
        self._deleted: dict[int, Any] = {}

    def values(self, name: str) -> list[Any]:
        """Every document's value in column ``name`` (deleted ones too), read once."""
        found = self._values.get(name)
        if found is None:
            column = self._columns[name]
            found = self._values[name] = [column[docnum] for docnum in range(self.searcher.doc_count_all())]
        return found

    def field_length_array(self, leaf: int, field: str) -> "np.ndarray":
        """Every document's length in ``field`` in the ``leaf``-th segment, read once (an array: 4 bytes each)."""
        import numpy as np

        found = self._length_arrays.get((leaf, field))
        if found is None:
            reader = self._leaves[leaf]
            found = self._length_arrays[leaf, field] = np.fromiter(
                (reader.doc_field_length(docnum, field, 0) for docnum in range(reader.doc_count_all())),
                dtype=np.uint32, count=reader.doc_count_all())
        return found

    def deleted_array(self, leaf: int) -> "np.ndarray":
        """The deleted document numbers of the ``leaf``-th segment (sorted), read once."""
        import numpy as np

        found = self._deleted.get(leaf)
        if found is None:
            reader = self._leaves[leaf]
            deleted = reader.deleted_docs_set if reader.has_deletions() else ()
            found = self._deleted[leaf] = np.array(sorted(deleted), dtype=np.int64)
        return found

    def close(self) -> None:
        self.searcher.close()


def open_held(index: Index, columns: tuple[str, ...] = HELD_COLUMNS) -> HeldSearcher:
    """Open a searcher on ``index``'s newest commit with all of its files open.

    :raises OSError: the files kept vanishing (or the index is damaged).
    """
    problem: Exception | None = None
    for _ in range(RETRIES):
        searcher = index.searcher()
        try:
            held = HeldSearcher(searcher, _open_files(searcher, columns))
        except (OSError, IndexError, TypeError) as error:  # a file went between the table of contents and its read
            searcher.close()
            problem = error
            time.sleep(0.01)
            continue
        # Files are deleted only by a commit newer than the one opened: if none
        # landed, every file opened above was the real one.
        if searcher.reader().generation() in (None, index.latest_generation()):
            return held
        searcher.close()
        problem = OSError(f"index {index.storage} kept committing while a searcher was opened")
    assert problem is not None
    if isinstance(problem, OSError):
        raise problem
    raise OSError(f"index {index.storage} could not be opened: {problem}") from problem


def _open_files(searcher: Searcher, columns: tuple[str, ...]) -> dict[str, Any]:
    """Read one value from every per-document file of every segment, so all are open."""
    schema = searcher.schema
    scored = [name for name in schema.names() if schema[name].scorable]
    for leaf, _ in searcher.reader().leaf_readers():
        if leaf.doc_count_all():
            leaf.stored_fields(0)  # TypeError when the stored-fields file has gone
            for name in scored:
                leaf.doc_field_length(0, name, 0)
    reader = searcher.reader()
    return {name: reader.column_reader(name, translate=name not in RAW_COLUMNS) for name in columns if name in schema}
