"""Files written beside each Whoosh segment, from the segment itself: caches that make searching cheap.

Two kinds, each in a module of its own: a segment's postings as arrays
(:mod:`indexer.index.term_arrays`) and what a results page shows of each of its
documents (:mod:`indexer.index.listings`). Each is named ``MAIN_<segment>.<kind>``,
so Whoosh's own clean-up deletes it with the segment's other files once a merge
has retired the segment. Each ends with a footer (JSON, its length and a magic
word), written last: a file without its footer is not a whole file, and a reader
that finds none, or one written for another number of documents, uses Whoosh's
own files instead, to the same results.

Build and update write them (:mod:`indexer.writing.segment_caches`).
"""

from __future__ import annotations

import json
import os
import struct
import weakref
from pathlib import Path
from typing import Any, BinaryIO, Callable

from indexer.index.atomic import atomic_file

__all__ = ["SegmentFile", "path_for", "write_segment_file", "whole"]

_TAIL = struct.Struct("<Q8s")  # the footer's length, then the magic: the file's last 16 bytes


def path_for(folder: Path, segment_id: str, suffix: str) -> Path:
    return folder / f"{segment_id}{suffix}"


class SegmentFile:
    """An open segment file: its descriptor (read with ``pread``, so threads may share it) and footer."""

    def __init__(self, path: Path, magic: bytes, documents: int) -> None:
        """:raises OSError: no such file; :raises ValueError: not a whole file of this kind, or of this segment."""
        fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, fd)
        self.path, self.fd = path, fd
        size = os.fstat(fd).st_size
        if size < _TAIL.size:
            raise ValueError(f"{path}: too short to be a whole file")
        length, found = _TAIL.unpack(os.pread(fd, _TAIL.size, size - _TAIL.size))
        if found != magic or length > size - _TAIL.size:
            raise ValueError(f"{path}: not a whole {magic.decode('ascii', 'replace')} file")
        self.footer: dict[str, Any] = json.loads(os.pread(fd, length, size - _TAIL.size - length))
        if self.footer.get("documents") != documents:
            raise ValueError(f"{path}: written for {self.footer.get('documents')} documents, the segment has {documents}")

    def read(self, start: int, end: int) -> bytes:
        return os.pread(self.fd, end - start, start)


def write_segment_file(path: Path, magic: bytes, documents: int, body: Callable[[BinaryIO], dict[str, Any]]) -> Path:
    """Write ``body`` (which returns the footer's other entries) and the footer, atomically."""
    with atomic_file(path) as out:
        footer = {"documents": documents, **body(out)}
        data = json.dumps(footer).encode("utf-8")
        out.write(data)
        out.write(_TAIL.pack(len(data), magic))
    return path


def whole(path: Path, magic: bytes) -> bool:
    """Whether ``path`` ends as a whole file of this kind does (an older format's does not)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-_TAIL.size, os.SEEK_END)
            return _TAIL.unpack(handle.read(_TAIL.size))[1] == magic
    except (OSError, ValueError, struct.error):
        return False
