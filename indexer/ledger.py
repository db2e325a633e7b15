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

import marshal
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LEDGER_FILE", "Seen", "Ledger", "load_ledger", "save_ledger"]

#: The ledger's file name inside a generation folder (not copied by `index publish`).
LEDGER_FILE = ".files-seen"
_FORMAT = 1
#: A file modified this close to when it was recorded may be written again within
#: the same timestamp tick, leaving its stat unchanged, so its stat is not trusted
#: and it is hashed next time (Git's "racy clean" rule).
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class Seen:
    """One file as last indexed: its stat signature and content hash."""

    size: int
    mtime_ns: int
    ctime_ns: int
    digest: str

    def matches(self, size: int, mtime_ns: int, ctime_ns: int) -> bool:
        return self.size == size and self.mtime_ns == mtime_ns and self.ctime_ns == ctime_ns


#: path relative to the corpus -> what was seen of it
Ledger = dict[str, Seen]


def load_ledger(folder: Path, commit: int) -> Ledger | None:
    """Read the ledger in ``folder`` if it describes Whoosh commit ``commit``; else None."""
    try:
        data = marshal.loads((folder / LEDGER_FILE).read_bytes())
        if data["format"] != _FORMAT or data["commit"] != commit:
            return None
        return {path: Seen(*entry) for path, entry in data["files"].items()}
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        return None  # missing, unreadable or from another Python: hash every file instead


def save_ledger(folder: Path, commit: int, ledger: Ledger) -> None:
    """Write the ledger atomically; files changed in the last seconds get hashed next time."""
    cutoff = int((time.time() - RACY_SECONDS) * 1e9)
    files = {
        path: (seen.size, seen.mtime_ns if seen.mtime_ns < cutoff else -1, seen.ctime_ns, seen.digest)
        for path, seen in ledger.items()
    }
    temporary = folder / f"{LEDGER_FILE}.tmp"
    temporary.write_bytes(marshal.dumps({"format": _FORMAT, "commit": commit, "files": files}))
    os.replace(temporary, folder / LEDGER_FILE)
