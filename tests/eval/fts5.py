"""The plain BM25 reference: SQLite FTS5 over the same articles.

One row per article: its title and its answer as plain text (the text our
index sees), tokenised with ``porter unicode61`` and ranked by FTS5's
``bm25()`` with equal column weights. A query becomes the OR of its words,
each quoted so FTS5 reads none of them as syntax.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Iterable

_WORD = re.compile(r"[^\W_]+")

SCHEMA = """
CREATE VIRTUAL TABLE articles USING fts5(
    title, answer, source_id UNINDEXED, article_id UNINDEXED,
    tokenize = 'porter unicode61'
)
"""


def match_expression(text: str) -> str:
    """Turn free text into an FTS5 query: every distinct word, quoted, joined by OR."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return " OR ".join(f'"{word}"' for word in words)


class Fts5Reference:
    """A BM25 ranking of one collection's articles, kept in an SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)

    @classmethod
    def build(cls, path: Path, rows: Iterable[tuple[str, str, str, int]]) -> "Fts5Reference":
        """Write (title, answer text, source id, article id) rows into a new database at ``path``."""
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        with db:
            db.execute(SCHEMA)
            db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?)", rows)
            db.execute("INSERT INTO articles(articles) VALUES ('optimize')")
        db.close()
        partial.replace(path)
        return cls(path)

    def search(self, text: str, limit: int = 100) -> list[str]:
        """Return the source ids of the best ``limit`` articles, best first."""
        expression = match_expression(text)
        if not expression:
            return []
        rows = self.db.execute(
            "SELECT source_id FROM articles WHERE articles MATCH ? ORDER BY bm25(articles) LIMIT ?",
            (expression, limit),
        )
        return [source_id for (source_id,) in rows]

    def source_ids(self) -> dict[int, str]:
        """Map every article id to its collection's document id."""
        return {int(article_id): source_id for source_id, article_id in self.db.execute("SELECT source_id, article_id FROM articles")}

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
