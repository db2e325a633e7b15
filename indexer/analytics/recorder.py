"""Write searches and clicks off the request path: a bounded queue, one thread, batches.

A request only puts a record on the queue (microseconds, never blocking). A
thread per process takes what has queued every :data:`FLUSH_SECONDS` and
appends it in one transaction, so a server killed with SIGKILL loses at most
that last moment's records and SQLite's journal keeps the file whole. A full
queue drops records; a full, locked or broken database is logged once, and
recording pauses for :data:`PAUSE_SECONDS` before it tries again. Searches
never wait for, or fail because of, any of it.

The thread starts on the first record in each process, so a server that
forks its workers after building the app (gunicorn) gets one per worker.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from indexer.analytics.records import ClickRecord, SearchRecord
from indexer.analytics.store import AnalyticsStore

__all__ = ["Recorder", "FLUSH_SECONDS", "PAUSE_SECONDS", "QUEUE_SIZE"]

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
PAUSE_SECONDS = 60.0
QUEUE_SIZE = 10_000
BATCH_SIZE = 2000
PRUNE_EVERY = 3600.0

Item = SearchRecord | ClickRecord | threading.Event


class Recorder:
    """Queue records for one database file and write them from a background thread."""

    def __init__(self, path: Path | str, days: float = 90, *, flush_seconds: float = FLUSH_SECONDS,
                 pause_seconds: float = PAUSE_SECONDS, queue_size: int = QUEUE_SIZE) -> None:
        self.path = Path(path)
        self.days = days
        self.flush_seconds = flush_seconds
        self.pause_seconds = pause_seconds
        self._queue: queue.Queue[Item] = queue.Queue(queue_size)
        self._lock = threading.Lock()
        self._pid = -1  # the process whose thread is running
        self._paused_until = 0.0
        self._dropped_logged = False
        self._problem = ""  # the database error last logged (each is logged once)
        self.dropped = 0  # records not kept: queue full, or recording paused

    @property
    def paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def record(self, item: SearchRecord | ClickRecord) -> None:
        """Queue one record; never blocks and never raises."""
        if self.paused:
            self.dropped += 1
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if not self._dropped_logged:
                self._dropped_logged = True
                log.warning("search analytics: the queue for %s is full, so records are dropped until it drains", self.path)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (or dropped); False on timeout."""
        self._ensure_thread()
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._pid != -1:  # forked from a process that had a thread: its queue is not ours
                self._queue = queue.Queue(self._queue.maxsize)
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="analytics-recorder", daemon=True).start()
            atexit.register(self.flush, 2.0)

    def _run(self) -> None:
        store = AnalyticsStore(self.path)
        next_prune = 0.0
        while True:
            batch = self._take()
            waiting = [item for item in batch if isinstance(item, threading.Event)]
            records = [item for item in batch if not isinstance(item, threading.Event)]
            if records:
                if self.paused:
                    self.dropped += len(records)
                else:
                    self._write(store, records)
            if not self.paused and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY
                self._guarded(store, lambda: store.prune(self.days))
            for event in waiting:
                event.set()

    def _take(self) -> list[Item]:
        """Block for the first item, then gather what arrives within the flush interval."""
        batch: list[Item] = [self._queue.get()]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < BATCH_SIZE and not isinstance(batch[-1], threading.Event):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _write(self, store: AnalyticsStore, records: list[SearchRecord | ClickRecord]) -> None:
        searches = [item for item in records if isinstance(item, SearchRecord)]
        clicks = [item for item in records if isinstance(item, ClickRecord)]
        if not self._guarded(store, lambda: store.write(searches, clicks)):
            self.dropped += len(records)

    def _guarded(self, store: AnalyticsStore, action: Callable[[], object]) -> bool:
        """Run a database action; on failure close the file and pause recording, logging each new problem once."""
        try:
            action()
        except (sqlite3.Error, OSError) as error:
            store.close()
            self._paused_until = time.monotonic() + self.pause_seconds
            if str(error) != self._problem:
                self._problem = str(error)
                log.error(
                    "search analytics paused: %s cannot be written (%s); searches are unaffected and recording "
                    "retries every %.0f s. Free disk space or fix the file, or set ARTICLE_SEARCH_ANALYTICS=off",
                    self.path, error, self.pause_seconds,
                )
            return False
        if self._problem:
            log.warning("search analytics resumed: %s is writable again", self.path)
            self._problem = ""
        return True
