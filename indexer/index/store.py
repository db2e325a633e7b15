"""The index folder: generations of Whoosh indexes behind one atomic pointer.

Layout of an index folder::

    CURRENT        JSON pointer to the live generation (replaced atomically)
    .write.lock    held (flock) by whichever build or update is writing
    gen-000007/    the live Whoosh index
    gen-000006/    the previous one, kept a while for readers still on it
    tmp-*/         a build in progress; left behind only by a killed build

A full build writes a fresh ``tmp-*`` folder and only then renames it and
swaps ``CURRENT``: until that instant readers see the old index, and a
killed or failed build leaves it untouched. An update writes into the live
generation through Whoosh's own commit (table of contents written last) and
then bumps the pointer's counter so readers know to reopen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from whoosh import index as whoosh_index

from indexer.index.atomic import write_atomically
from indexer.index.errors import IndexLocked, IndexMissing, IndexStoreError
from indexer.index.manifest import MANIFEST, is_snapshot, verify_snapshot
from indexer.index.schema import SCHEMA_VERSION

__all__ = ["IndexStore", "Pointer", "IndexMissing", "IndexLocked", "IndexStoreError"]

KEEP_GENERATIONS = 2
#: What the index was asked to do beyond its contents (today: rank by meaning or not), kept across builds.
SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class Pointer:
    """What ``CURRENT`` says: the live generation and a summary of it."""

    dir: str
    generation: int
    documents: int
    schema_version: int
    built_at: str
    updated_at: str
    #: The Whoosh commit (table-of-contents generation) this pointer announces. A searcher that
    #: opens on a newer one reads an update not yet announced (-1: written before this was kept).
    commit: int = -1

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class IndexStore:
    """One index folder; safe for many readers and one writer at a time."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._verified: set[Path] = set()  # snapshot folders already checked against their manifests

    @property
    def pointer_path(self) -> Path:
        return self.root / "CURRENT"

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    def ranking_choice(self) -> bool | None:
        """Whether this index was last asked to rank by meaning (True) or by words alone (False); None if never asked."""
        try:
            value = json.loads(self.settings_path.read_text("utf-8")).get("semantic")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, bool) else None

    def record_ranking_choice(self, semantic: bool) -> None:
        """Remember ``--semantic`` or ``--no-semantic`` for the builds and updates after this one."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomically(self.settings_path, json.dumps({"semantic": semantic}).encode("utf-8"))

    def pointer(self) -> Pointer | None:
        """Read ``CURRENT``; None when nothing was ever built here."""
        try:
            data = json.loads(self.pointer_path.read_text("utf-8"))
            return Pointer(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, OSError) as error:
            raise IndexStoreError(
                f"{self.pointer_path} is unreadable ({error}); rebuild with 'article-search index build'"
            ) from None

    def require_pointer(self) -> Pointer:
        pointer = self.pointer()
        if pointer is None:
            raise IndexMissing(
                f"no index at {self.root}: build one with 'article-search index build --index {self.root}'"
            )
        return pointer

    def open(self, pointer: Pointer | None = None) -> whoosh_index.Index:
        """Open the live generation's Whoosh index (verifying it first if it is a published snapshot)."""
        pointer = pointer or self.require_pointer()
        path = self.root / pointer.dir
        if (is_snapshot(pointer.dir) or (path / MANIFEST).exists()) and path not in self._verified:
            verify_snapshot(path)
            self._verified.add(path)
        try:
            return whoosh_index.open_dir(str(path))
        except Exception as error:  # (a damaged table of contents raises what unpickling raises)
            raise IndexStoreError(f"index generation {path} cannot be opened ({error}); run 'article-search index build'") from None

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the writer lock, waiting at most ``timeout`` seconds for it.

        flock is released by the kernel when its holder dies, so a killed build
        never leaves a lock behind that someone must delete by hand.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".write.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = _read_holder(fd)
                        raise IndexLocked(
                            f"another build or update{holder} is writing {self.root}; waited {timeout:g} s. "
                            "Try again when it has finished, or raise --lock-timeout"
                        ) from None
                    time.sleep(0.05)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def new_build_dir(self) -> Path:
        """Make a fresh folder for a build, clearing what killed builds left."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob("tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="tmp-", dir=self.root))

    def publish(self, build_dir: Path, documents: int, commit: int) -> Pointer:
        """Make a finished build the live generation (the caller holds the lock)."""
        old = self.pointer()
        generation = (old.generation + 1) if old else 1
        final = self.root / f"gen-{generation:06d}"
        if final.exists():  # left by a build killed between rename and pointer swap
            shutil.rmtree(final)
        build_dir.rename(final)
        now = _now()
        pointer = Pointer(final.name, generation, documents, SCHEMA_VERSION, now, now, commit)
        self.write_pointer(pointer)
        self._prune(keep={final.name, old.dir if old else ""})
        return pointer

    def bump(self, pointer: Pointer, documents: int, commit: int) -> Pointer:
        """Announce an update's Whoosh ``commit`` into the live generation."""
        bumped = Pointer(
            pointer.dir, pointer.generation + 1, documents, pointer.schema_version, pointer.built_at, _now(), commit
        )
        self.write_pointer(bumped)
        return bumped

    def discard(self, build_dir: Path) -> None:
        shutil.rmtree(build_dir, ignore_errors=True)

    def write_pointer(self, pointer: Pointer) -> None:
        """Replace ``CURRENT`` atomically and durably."""
        write_atomically(self.pointer_path, json.dumps(pointer.as_dict()).encode("utf-8"))

    def _prune(self, keep: set[str]) -> None:
        """Delete generations older than the kept ones (readers reopen within a second)."""
        generations = sorted(self.root.glob("gen-*"))
        for path in generations[:-KEEP_GENERATIONS]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
