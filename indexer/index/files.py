"""The file list of a live generation: every file's size and SHA-256, for the commit it describes.

A published snapshot carries ``manifest.json`` (:mod:`indexer.index.manifest`);
a generation that builds and updates write carries ``.generation-files``
(a dot file: `index publish` copies none). It is written after each build and
each update's commit, and names the Whoosh commit it describes: one that names
another (an update killed between its commit and this file) is not used, so a
crash can never make a sound generation look damaged.

Whoosh segment files are never rewritten once committed, so an update hashes
only the files whose size or modification time moved since the list was
written: the new segment, its table of contents, the vectors, the vocabulary.
Searchers compare sizes only (a ``stat`` per file) before switching to a new
generation; ``index verify`` compares the hashes too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.index.atomic import write_atomically
from indexer.index.manifest import sha256_of

__all__ = ["FILE_LIST", "record_files", "recorded_files", "set_file_list_aside", "size_problems"]

FILE_LIST = ".generation-files"
_FORMAT = 1


def _listed(folder: Path) -> list[Path]:
    """The files a reader depends on: not dot files (ledger, this list), not Whoosh's lock."""
    return sorted(item for item in folder.iterdir()
                  if item.is_file() and not item.name.startswith(".") and not item.name.endswith("WRITELOCK"))


def record_files(folder: Path, commit: int) -> None:
    """Write ``folder``'s file list for Whoosh commit ``commit``, hashing only files changed since the last list."""
    before = _read(folder) or {}
    old = before.get("files", {})
    files: dict[str, dict[str, Any]] = {}
    for item in _listed(folder):
        stat = item.stat()
        known = old.get(item.name)
        if known and known["size"] == stat.st_size and known["mtime_ns"] == stat.st_mtime_ns:
            files[item.name] = known
        else:
            files[item.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256_of(item)}
    write_atomically(folder / FILE_LIST, json.dumps({"format": _FORMAT, "commit": commit, "files": files}).encode("utf-8"))


def set_file_list_aside(folder: Path) -> None:
    """Mark ``folder``'s file list as describing no commit, before an update writes into the folder.

    An update writes what searchers read (vocabulary, vectors, curation) before its
    Whoosh commit: killed between the two, the list would still name the live commit
    with the old sizes, and readers would refuse a sound generation. The hashes stay,
    so the next :func:`record_files` need not hash the unchanged files again.
    """
    data = _read(folder)
    if data is not None and data.get("commit") is not None:
        write_atomically(folder / FILE_LIST, json.dumps({**data, "commit": None}).encode("utf-8"))


def recorded_files(folder: Path, commit: int) -> dict[str, dict[str, Any]] | None:
    """name -> {size, sha256} as recorded for ``commit``; None if no list describes that commit."""
    data = _read(folder)
    if data is None or data.get("commit") != commit:
        return None
    files = data.get("files")
    return files if isinstance(files, dict) else None


def size_problems(folder: Path, files: dict[str, dict[str, Any]]) -> list[str]:
    """One line per listed file that is missing or not of its recorded size (a stat each)."""
    problems = []
    for name, expected in files.items():
        try:
            size = (folder / name).stat().st_size
        except FileNotFoundError:
            problems.append(f"{folder / name}: missing")
            continue
        except OSError as error:
            problems.append(f"{folder / name}: unreadable ({error.strerror})")
            continue
        if size != expected["size"]:
            problems.append(f"{folder / name}: {size} bytes where {expected['size']} were written (truncated or replaced)")
    return problems


def _read(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / FILE_LIST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == _FORMAT else None
