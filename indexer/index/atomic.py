"""Replace a file so that readers, and a crash, see the old contents or the new, never a part.

Written beside the target, flushed to disk, renamed over it, and the folder's
entry flushed too, so that a power cut after the rename cannot bring back the
old file, or an empty one, on the next boot. Every file the index depends on
outside Whoosh's own (pointer, ledger, vocabulary, vectors, query encoder) is
written this way.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_file", "write_atomically"]


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file to write ``path``'s new contents; on success it replaces ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched.
    (The temporary name starts with a dot: ``index publish`` copies no dot files.)
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_folder(path.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, atomically and durably."""
    with atomic_file(path) as handle:
        handle.write(data)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
