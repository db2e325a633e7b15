"""One searcher per thread, each reopened when the index moves on.

Whoosh searchers are not thread-safe, so each thread keeps its own. At most
once a second a thread compares the index folder's pointer with the one its
searcher was opened on, and opens a fresh searcher when a build or update has
committed since (``Searcher.refresh()`` is avoided: after ``update_document``
it was measured to return old copies as well). A build's new folder gets a new
:class:`~indexer.search.generation.Generation`; a half-copied or damaged
snapshot is refused and the one before keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass

from indexer.index.held import HeldSearcher, open_held
from indexer.index.store import IndexStore, IndexStoreError
from indexer.index.verify import refusal
from indexer.search.generation import Generation

log = logging.getLogger(__name__)

__all__ = ["SearcherPool", "REFRESH_SECONDS"]

REFRESH_SECONDS = 1.0
#: How long a new searcher waits for the pointer to announce the commit it reads (see _announcing).
ANNOUNCE_SECONDS = 1.0


@dataclass
class _Local(threading.local):
    pointer_generation: int = -1
    held: HeldSearcher | None = None
    generation: Generation | None = None
    checked: float = 0.0


class SearcherPool:
    """This thread's searcher on the live generation of one index folder."""

    def __init__(self, store: IndexStore, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._refused = ""  # the last generation folder that failed to open (logged once)
        self._unannounced: tuple[str, int] = ("", -1)  # a commit no pointer announced (logged once)
        self._local = _Local()
        # Every open searcher by thread, so close() (or dropping the pool) closes
        # their files, and those of threads that have ended are reaped.
        self._open: dict[int, HeldSearcher] = {}
        weakref.finalize(self, _close_all, self._open, self._lock)

    def acquire(self) -> tuple[HeldSearcher, Generation]:
        """This thread's searcher and its generation, reopened when the index has moved on."""
        local = self._local
        now = time.monotonic()
        if local.held is not None and local.generation is not None and now - local.checked < self.refresh_seconds:
            return local.held, local.generation
        local.checked = now
        generation = self._current()
        if local.held is None or local.pointer_generation != generation.pointer.generation or local.generation is not generation:
            old = local.held
            try:
                held = self._open_held(generation)
            except Exception as error:  # a segment an update wrote is damaged: what this thread holds still reads
                if old is None or local.generation is None:
                    raise
                named = _named(refusal(generation.folder, generation.index), error)
                self._refuse(f"{generation.folder.name} (generation {generation.pointer.generation})", named)
                return old, local.generation
            generation = self._announcing(held, generation)
            if held.commit >= 0:
                held.share(generation.read_once(held.commit))
            local.held, local.generation = held, generation
            local.pointer_generation = generation.pointer.generation
            self._register(held)  # (closes ``old``: only this thread ever used it)
        assert local.held is not None and local.generation is not None
        return local.held, local.generation

    def _announcing(self, held: HeldSearcher, generation: Generation) -> Generation:
        """``generation`` once its pointer announces the commit ``held`` reads.

        An update commits into the live folder and then bumps the pointer: a searcher
        opened between the two reads the new articles while every other thread serves
        the old ones, and would label them with the old pointer. So it waits for the
        bump (milliseconds) before answering. An update killed in between never bumps:
        after :data:`ANNOUNCE_SECONDS` the searcher serves what it reads (logged once).
        """
        commit = held.commit
        deadline = time.monotonic() + ANNOUNCE_SECONDS
        while 0 <= generation.pointer.commit < commit:
            if time.monotonic() >= deadline:
                if self._unannounced != (generation.folder.name, commit):
                    self._unannounced = (generation.folder.name, commit)
                    log.warning("%s holds commit %d but %s announces %d (an update stopped before its last step?); "
                                "serving it: the next `index update` announces it", generation.folder.name, commit,
                                self.store.pointer_path, generation.pointer.commit)
                break
            time.sleep(0.005)
            if self._current() is not generation:
                break  # a build replaced the folder meanwhile: the next check switches to it
        return generation

    @property
    def pointer_generation(self) -> int:
        """The pointer generation this thread's searcher was opened on (-1 before its first search)."""
        return self._local.pointer_generation

    def close(self) -> None:
        """Close every thread's searcher; the next search opens a fresh one."""
        _close_all(self._open, self._lock)
        self._local.held = self._local.generation = None

    def _open_held(self, generation: Generation) -> HeldSearcher:
        """Open a searcher on ``generation``, following the pointer if its folder went meanwhile."""
        try:
            return open_held(generation.index)
        except OSError:
            # Pruned by two full builds in quick succession: the pointer names a newer folder.
            return open_held(self._current().index)

    def _current(self) -> Generation:
        """The live generation, opened when the pointer names a new folder."""
        with self._lock:
            pointer = self.store.require_pointer()
            current = self._generation
            if current is not None and current.folder.name == pointer.dir:
                current.moved_to(pointer)
                return current
            if current is not None and self._refused == f"{pointer.dir} (generation {pointer.generation})":
                return current  # refused already; a new build, update or snapshot moves the pointer on
            try:
                index = self.store.open(pointer)
                problem = refusal(self.store.root / pointer.dir, index)
                if problem is not None:
                    raise IndexStoreError(f"{problem}; rebuild with `article-search index build` (or publish again)")
            except IndexStoreError as error:
                if current is None:
                    raise
                # A damaged build or a bad, half-copied snapshot: keep serving what we have.
                self._refuse(f"{pointer.dir} (generation {pointer.generation})", error)
                return current
            self._generation = Generation(self.store.root / pointer.dir, pointer, index)
            return self._generation

    def _refuse(self, what: str, error: BaseException) -> None:
        """Log, once per generation, why it is not served (the line names the damaged file)."""
        if self._refused != what:
            self._refused = what
            log.warning("not switching to %s: %s", what, error)

    def _register(self, held: HeldSearcher) -> None:
        with self._lock:
            # Which threads live is read under the lock: read before it, a thread that started
            # and registered meanwhile looked dead, and its searcher was closed under it (every
            # search on that thread then failed with ReaderClosed until the index moved on).
            alive = {thread.ident for thread in threading.enumerate()}
            # What this thread's ident held before is this thread's old searcher, or that of an
            # ended thread whose ident was reused for this one: either way nothing uses it now.
            previous = self._open.get(threading.get_ident())
            if previous is not None and previous is not held:
                previous.close()
            self._open[threading.get_ident()] = held
            for ident in [ident for ident in self._open if ident not in alive]:
                self._open.pop(ident).close()


def _named(problem: str | None, error: BaseException) -> BaseException:
    """The error to log: the damaged file, where one is found, else what opening raised."""
    return IndexStoreError(problem) if problem else error


def _close_all(searchers: dict[int, HeldSearcher], lock: threading.Lock) -> None:
    with lock:
        for held in searchers.values():
            held.close()
        searchers.clear()
