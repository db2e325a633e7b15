"""What the index last saw of each corpus file, so `index update` can skip reading it.

Re-reading and hashing 100,000 unchanged files costs seconds; comparing their
``stat()`` with what was recorded costs a fraction of that. The ledger keeps,
per file, its size, modification and change times and content hash. A file
whose stat still matches is taken as unchanged; any other file is hashed, and
the hash decides, so a touched but unchanged file is not re-indexed.

The ledger names the Whoosh commit it describes. One that does not match the
index's latest commit (an update killed between the two writes, an index
written by an older version) is ignored, and the update falls back to hashing
every file: slower, never wrong.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
import zlib
from pathlib import Path
from typing import Any

__all__ = ["LEDGER_FILE", "JOURNAL_FILE", "Seen", "Ledger", "FileLedger"]

#: The ledger's file names inside a generation folder (dot files: `index publish` skips them).
LEDGER_FILE = ".files-seen"
JOURNAL_FILE = ".files-seen-recent"
#: Entries the journal may hold before it is folded into the base.
JOURNAL_LIMIT = 5_000
_FORMAT = 2
#: A file modified this close to when it was recorded may be written again within
#: the same timestamp tick, leaving its stat unchanged, so its stat is not trusted
#: and it is hashed next time (Git's "racy clean" rule).
RACY_SECONDS = 2.0


#: One file as last indexed: (size, mtime_ns, ctime_ns, content hash). Plain tuples,
#: so loading 100,000 of them builds no objects.
Seen = tuple[int, int, int, str]
#: path relative to the corpus -> what was seen of it
Ledger = dict[str, Seen]


class FileLedger:
    """The ledger of one generation: a base table plus a journal of what changed since.

    Rewriting 100,000 entries after every one-file update cost a quarter of a
    second, so an update writes only the journal of entries changed since the
    base was written, and folds it into the base once it passes
    :data:`JOURNAL_LIMIT` entries.
    """

    def __init__(self, files: Ledger | None = None, base_commit: int = -1, recent: dict[str, Seen | None] | None = None) -> None:
        self.files: Ledger = files if files is not None else {}
        self.base_commit = base_commit  # -1: no base written yet
        self.recent: dict[str, Seen | None] = recent if recent is not None else {}

    def set(self, path: str, seen: Seen) -> None:
        self.files[path] = self.recent[path] = seen

    def drop(self, path: str) -> None:
        self.files.pop(path, None)
        self.recent[path] = None

    @classmethod
    def load(cls, folder: Path, commit: int) -> "FileLedger | None":
        """The ledger in ``folder`` if it describes Whoosh commit ``commit``; else None."""
        base = _read(folder / LEDGER_FILE)
        if base is None:
            return None
        journal = _read(folder / JOURNAL_FILE)
        if journal is None or journal["base"] != base["commit"] or journal["commit"] != commit:
            # No journal that continues this base up to this commit: the base alone, if current.
            return cls(base["files"], commit) if base["commit"] == commit else None
        files: Ledger = base["files"]
        for path, seen in journal["files"].items():
            if seen is None:
                files.pop(path, None)
            else:
                files[path] = seen
        return cls(files, base["commit"], journal["files"])

    def save(self, folder: Path, commit: int) -> None:
        """Record the ledger for Whoosh commit ``commit``: the journal, or a new base when due."""
        cutoff = int((time.time() - RACY_SECONDS) * 1e9)
        if self.base_commit < 0 or len(self.recent) > JOURNAL_LIMIT:
            files = {path: _trusted(seen, cutoff) for path, seen in self.files.items()}
            _write(folder / LEDGER_FILE, {"format": _FORMAT, "commit": commit, "files": files})
            with contextlib.suppress(FileNotFoundError):
                (folder / JOURNAL_FILE).unlink()  # a stale journal names another base: never applied
            self.base_commit, self.recent = commit, {}
        else:
            recent = {path: seen and _trusted(seen, cutoff) for path, seen in self.recent.items()}
            _write(folder / JOURNAL_FILE, {"format": _FORMAT, "base": self.base_commit, "commit": commit, "files": recent})


def _trusted(seen: Seen, cutoff: int) -> Seen:
    """``seen``, with its mtime voided if it is after ``cutoff``, so the next update hashes the file (racy clean)."""
    return seen if seen[1] < cutoff else (seen[0], -1, seen[2], seen[3])


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = marshal.loads(zlib.decompress(path.read_bytes()))
        return data if isinstance(data, dict) and data.get("format") == _FORMAT else None
    except (OSError, ValueError, EOFError, TypeError, zlib.error):
        return None  # missing, unreadable or from another Python: hash every file instead


def _write(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    # Compressed (fastest level): paths and hashes shrink about threefold, for milliseconds.
    temporary.write_bytes(zlib.compress(marshal.dumps(data), 1))
    os.replace(temporary, path)
