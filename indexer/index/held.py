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

import bisect
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    import numpy as np

from whoosh.index import Index
from whoosh.searching import Searcher

from indexer.index.listings import Listing, Listings
from indexer.index.schema import FIELD_BOOSTS
from indexer.index.term_arrays import TermArrays

__all__ = ["HeldSearcher", "open_held", "HELD_COLUMNS"]

#: The columns read at query time: facet counts, ids for exports, vectors by content, dates to filter and sort by.
HELD_COLUMNS = ("subject", "article_id", "content_hash", "date")
#: Columns read as Whoosh stores them: a date as a whole number that grows with it (an undated
#: article's, the column default, overflows when translated to a datetime).
RAW_COLUMNS = frozenset({"date"})
#: How often to reopen when commits keep landing while the files are opened.
RETRIES = 20


def _same(value: Any) -> Any:
    return value


class HeldSearcher:
    """A Whoosh searcher with its files open, and what is read once per searcher: columns, field lengths."""

    def __init__(self, searcher: Searcher, columns: dict[str, Any]) -> None:
        self.searcher = searcher
        self._columns = columns
        self._leaves = [reader for reader, _ in searcher.reader().leaf_readers()]
        self._offsets = [offset for _, offset in searcher.reader().leaf_readers()]
        #: What is read once from the columns and segments (lists and arrays a document long),
        #: kept in a dict that every searcher of the same commit may share (see :meth:`share`).
        self._read: dict[tuple[Any, ...], Any] = {}

    @property
    def commit(self) -> int:
        """The Whoosh commit (table-of-contents generation) this searcher reads (-1: not versioned)."""
        generation = self.searcher.reader().generation()
        return -1 if generation is None else int(generation)

    def share(self, read: dict[tuple[Any, ...], Any]) -> None:
        """Keep what is read once in ``read``, shared with the other searchers of this commit.

        A web worker's threads each hold a searcher; at 100,000 articles what each
        read once (columns, field lengths, facet codes) was 10-15 MB a thread.
        """
        read.update(self._read)
        self._read = read

    def values(self, name: str, keep: bool = True) -> list[Any]:
        """Every document's value in column ``name`` (deleted ones too), read once if ``keep``.

        (A list of 100,000 strings is about 7 MB: what is needed once, to make codes or
        lay vectors out, is read with ``keep=False``.)
        """
        found = self._read.get(("values", name))
        if found is None:
            column = self._columns[name]
            found = [column[docnum] for docnum in range(self.searcher.doc_count_all())]
            if keep:
                self._read["values", name] = found
        return found

    def codes(self, name: str, key: Callable[[Any], Any] = _same) -> "tuple[np.ndarray, list[Any]]":
        """Column ``name`` as one small integer per document, and the values they stand for, made once.

        ``key`` maps a stored value to the one counted (a raw date to its year); a document
        whose key is None gets code -1. Facets are counted over these with numpy.
        """
        import numpy as np

        found = self._read.get(("codes", name, key))
        if found is None:
            column = self.values(name, keep=False)
            keyed = {value: key(value) for value in set(column)}
            values = sorted({value for value in keyed.values() if value is not None})
            numbering = {value: code for code, value in enumerate(values)}
            lookup = {value: numbering.get(counted, -1) for value, counted in keyed.items()}
            found = np.fromiter((lookup[value] for value in column), dtype=np.int32, count=len(column)), values
            self._read["codes", name, key] = found
        return found

    def field_length_array(self, leaf: int, field: str) -> "np.ndarray":
        """Every document's length in ``field`` in the ``leaf``-th segment, read once (an array: 4 bytes each)."""
        import numpy as np

        found = self._read.get(("lengths", leaf, field))
        if found is None:
            reader = self._leaves[leaf]
            found = self._read["lengths", leaf, field] = np.fromiter(
                # (None for a document whose field holds nothing: a length of 0)
                (reader.doc_field_length(docnum, field, 0) or 0 for docnum in range(reader.doc_count_all())),
                dtype=np.uint32, count=reader.doc_count_all())
        return found

    def length_norms(self, leaf: int, field: str, b: float, average: float) -> "np.ndarray":
        """BM25's length normalisation of every document of the ``leaf``-th segment in ``field``,
        ``1 - b + b * length / average``, made once (the same arithmetic as made per query)."""
        key = ("norms", leaf, field, b, average)
        found = self._read.get(key)
        if found is None:
            found = self._read[key] = 1 - b + b * self.field_length_array(leaf, field) / average
        return found

    def deleted_array(self, leaf: int) -> "np.ndarray":
        """The deleted document numbers of the ``leaf``-th segment (sorted), read once."""
        import numpy as np

        found = self._read.get(("deleted", leaf))
        if found is None:
            reader = self._leaves[leaf]
            deleted = reader.deleted_docs_set if reader.has_deletions() else ()
            found = self._read["deleted", leaf] = np.array(sorted(deleted), dtype=np.int64)
        return found

    def term_arrays(self, leaf: int) -> TermArrays | None:
        """The ``leaf``-th segment's postings file (None: read Whoosh's postings)."""
        found = self._segment_file(leaf, TermArrays)
        return found if isinstance(found, TermArrays) else None

    def listing(self, docnum: int) -> Listing | None:
        """What a result shows of document ``docnum``, from its segment's listing file (None: there is none)."""
        leaf = bisect.bisect_right(self._offsets, docnum) - 1
        listings = self._segment_file(leaf, Listings)
        if not isinstance(listings, Listings):
            return None
        try:
            return listings.get(docnum - self._offsets[leaf])
        except ValueError:
            return None

    def _segment_file(self, leaf: int, kind: Any) -> Any:
        """A file beside the ``leaf``-th segment (indexer.index.segment_files), opened once it exists.

        Looked for again at each call while it is missing: an update writes it just
        after its commit, and the searchers already open on that commit then use it.
        """
        key = (kind.__name__, leaf)
        found = self._read.get(key)
        if found is None:
            reader = self._leaves[leaf]
            folder = getattr(reader._storage, "folder", None)  # (a segment in a compound file has none)
            if folder is None:
                return None
            try:
                found = kind(Path(folder), reader.segment().segment_id(), reader.doc_count_all())
            except FileNotFoundError:
                return None
            except (OSError, ValueError, KeyError, TypeError):
                found = False  # damaged: Whoosh's files serve, and it is not opened again
            self._read[key] = found
        return found

    def doc_frequency(self, field: str, text: str) -> int:
        """Whoosh's ``doc_frequency``, from the segments' postings files where they have the word."""
        return self.most_documents(text, [field])

    def most_documents(self, text: str, fields: Iterable[str]) -> int:
        """The largest of ``text``'s document frequencies in ``fields`` (how common a word is), from
        its row of per-field frequencies in each segment's postings file (a binary search, where
        Whoosh reads its term table through a file buffer, field by field); Whoosh's where a
        segment has no file, the file leaves the word out, or a field is not a searched one."""
        fields = list(fields)
        searcher = self.searcher
        order = list(FIELD_BOOSTS)
        if fields and all(field in order for field in fields):
            term = searcher.schema[fields[0]].to_bytes(text)
            totals = [0] * len(order)
            for leaf in range(len(self._leaves)):
                arrays = self.term_arrays(leaf)
                row = arrays.frequencies(term) if arrays is not None else None
                if row is None:
                    break
                totals = [total + count for total, count in zip(totals, row)]
            else:
                return max(totals[order.index(field)] for field in fields)
        return max((int(searcher.doc_frequency(field, text)) for field in fields), default=0)

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
