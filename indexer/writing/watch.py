"""Keep an index current while the corpus changes, one update per burst of saves."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from watchdog.events import EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_OPENED, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from indexer.corpus.files import ReservedBy
from indexer.writing.update import UpdateReport, update_index

__all__ = ["watch_corpus"]

#: Events a reader causes (watchdog reports opens and closes on Linux).
_READS = frozenset({EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE})


class _Debouncer(FileSystemEventHandler):
    """Collapse a burst of file events into one call, ``delay`` seconds after the last."""

    def __init__(self, delay: float, wake: threading.Event) -> None:
        self.delay = delay
        self.wake = wake
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _READS:
            return  # a read changes nothing, and every update reads the files it checks: it would wake itself
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if event.is_directory and event.event_type not in ("moved", "deleted"):
            return
        if not any(path.endswith(".md") for path in paths) and not event.is_directory:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self.wake.set)
            self._timer.daemon = True
            self._timer.start()


def watch_corpus(
    corpus: Path,
    index: Path,
    *,
    on_update: Callable[[UpdateReport], None],
    on_error: Callable[[Exception], None],
    debounce: float = 0.5,
    lock_timeout: float = 30.0,
    stop: threading.Event | None = None,
    reserved_by: ReservedBy | None = None,
) -> None:
    """Update ``index`` now and after every burst of changes, until ``stop`` is set."""
    stop = stop or threading.Event()
    wake = threading.Event()
    wake.set()  # catch up with whatever changed while nobody watched
    observer = Observer()
    observer.schedule(_Debouncer(debounce, wake), str(corpus), recursive=True)
    observer.start()
    try:
        while not stop.is_set():
            if not wake.wait(timeout=0.2):
                continue
            wake.clear()
            try:
                on_update(update_index(corpus, index, lock_timeout=lock_timeout, reserved_by=reserved_by))
            except Exception as error:  # keep watching: the next save may fix it
                on_error(error)
    finally:
        observer.stop()
        observer.join(timeout=5)
