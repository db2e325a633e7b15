"""The analytics database: one SQLite file per replica, in WAL mode, outside the index.

Builds and publishes never touch it: it lives where ``ARTICLE_SEARCH_ANALYTICS_DB``
says (``var/analytics.sqlite3`` by default), not in an index generation. Every
worker of a replica appends to the same file (WAL lets readers and one writer
at a time work together); a report reads several replicas' files at once.
A click is stored once per search and position, so a link's ``ping`` and
the page's beacon for the same click count once.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from indexer.analytics.records import ClickRecord, SearchRecord

__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "AnalyticsStore", "StoreUnreadable", "read_rows"]

DEFAULT_DB = "var/analytics.sqlite3"
SCHEMA_VERSION = 1
#: How long a writer waits for another process's write to finish before giving up on a batch.
BUSY_TIMEOUT_MS = 2000
#: The writer's page cache (SQLite's default is 2 MB per connection, in every worker).
CACHE_KIB = 256
DAY = 86400.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    search_id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    query TEXT NOT NULL,
    source TEXT NOT NULL,
    results INTEGER NOT NULL,
    page INTEGER NOT NULL,
    took_ms REAL NOT NULL,
    filters TEXT NOT NULL,
    corrected INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    typing INTEGER NOT NULL,
    tab TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS searches_at ON searches (at);
CREATE TABLE IF NOT EXISTS clicks (
    search_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (search_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clicks_at ON clicks (at);
"""


class StoreUnreadable(RuntimeError):
    """An analytics database that cannot be read; the message says what to do."""


class AnalyticsStore:
    """Append searches and clicks to one database file; used by one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        """Open (creating the file and its folder if needed) in WAL mode."""
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
            try:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses no committed batch, only power loss could
                db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # appends only: a small page cache keeps workers' memory flat
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def write(self, searches: Iterable[SearchRecord], clicks: Iterable[ClickRecord]) -> None:
        """Append one batch in one transaction (all of it or none)."""
        db = self.connect()
        with _transaction(db):
            db.executemany(
                "INSERT OR IGNORE INTO searches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_search_row(record) for record in searches],
            )
            db.executemany(
                "INSERT OR IGNORE INTO clicks VALUES (?, ?, ?, ?)",
                [(click.search_id, click.position, click.article_id, click.at) for click in clicks],
            )

    def prune(self, days: float, now: float | None = None) -> int:
        """Delete what is older than ``days``; return how many searches went."""
        cutoff = (now if now is not None else time.time()) - days * DAY
        db = self.connect()
        with _transaction(db):
            gone = db.execute("DELETE FROM searches WHERE at < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM clicks WHERE at < ?", (cutoff,))
        return int(gone)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")


def _search_row(record: SearchRecord) -> tuple[object, ...]:
    filters = json.dumps({"subject": list(record.subjects), "year": list(record.years), "sort": record.sort})
    return (
        record.search_id, record.at, record.query, record.source, record.results, record.page,
        round(record.took_ms, 2), filters, int(record.corrected), int(record.partial), int(record.typing), record.tab,
    )


def read_rows(path: Path | str, since: float) -> tuple[list[SearchRecord], list[ClickRecord]]:
    """Every search and click since ``since`` in one database, opened read-only.

    :raises StoreUnreadable: no such file, or not an analytics database.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreUnreadable(f"no analytics database at {path}: pass --db with the file ARTICLE_SEARCH_ANALYTICS_DB names")
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            searches = [_search_record(row) for row in _rows(db, "SELECT * FROM searches WHERE at >= ? ORDER BY at", since)]
            clicks = [ClickRecord(row[0], int(row[1]), int(row[2]), float(row[3]))
                      for row in _rows(db, "SELECT search_id, position, article_id, at FROM clicks WHERE at >= ?", since)]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise StoreUnreadable(f"{path} is not a readable analytics database ({error}): pass --db with another file") from None
    return searches, clicks


def _rows(db: sqlite3.Connection, sql: str, since: float) -> Iterator[Any]:
    return iter(db.execute(sql, (since,)))


def _search_record(row: Any) -> SearchRecord:
    search_id, at, query, source, results, page, took_ms, filters, corrected, partial, typing, tab = row
    chosen = json.loads(str(filters)) if filters else {}
    return SearchRecord(
        search_id=str(search_id), query=str(query), source=str(source), results=int(results),
        page=int(page), took_ms=float(took_ms), subjects=tuple(chosen.get("subject", ())),
        years=tuple(chosen.get("year", ())), sort=str(chosen.get("sort", "relevance")),
        corrected=bool(corrected), partial=bool(partial), typing=bool(typing), tab=str(tab), at=float(at),
    )
