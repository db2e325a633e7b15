"""The speed reference: SQLite FTS5 over the same articles, as a plain BM25 site would run it.

Columns title, answer (plain text, as our index sees it) and keywords,
``porter unicode61`` tokenizer, ranked by ``bm25()`` with the same column
weights as our field boosts, snippets from ``snippet()``. Reading and parsing
the article files is part of its build, as it is of ours.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from indexer import load_corpus, plain_text
from indexer.index.schema import FIELD_BOOSTS

_WORD = re.compile(r"[^\W_]+")
WEIGHTS = (FIELD_BOOSTS.get("title", 1.0), FIELD_BOOSTS.get("answer", 1.0), FIELD_BOOSTS.get("keyword_text", 1.0))


def match_expression(text: str) -> str:
    """Every distinct word of ``text``, quoted (so none is read as syntax), joined by OR."""
    return " OR ".join(f'"{word}"' for word in dict.fromkeys(word.lower() for word in _WORD.findall(text)))


def build(corpus: Path, path: Path) -> int:
    """Parse the corpus and write an FTS5 database at ``path``; return the row count."""
    path.unlink(missing_ok=True)
    scan = load_corpus(corpus)
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "CREATE VIRTUAL TABLE articles USING fts5(title, answer, keywords, url UNINDEXED, tokenize='porter unicode61')"
        )
        db.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?)",
            ((a.title, plain_text(a.answer), ", ".join(a.keywords), a.url) for a, _ in scan.articles),
        )
        db.execute("INSERT INTO articles(articles) VALUES ('optimize')")
    db.close()
    return len(scan.articles)


class Reference:
    """Top-10 searches with snippets against a built database."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)

    def search(self, text: str, limit: int = 10) -> list[tuple[str, str, str, float]]:
        expression = match_expression(text)
        if not expression:
            return []
        return self.db.execute(
            "SELECT url, highlight(articles, 0, '<mark>', '</mark>'), "
            "snippet(articles, 1, '<mark>', '</mark>', '…', 32), bm25(articles, ?, ?, ?) AS score "
            "FROM articles WHERE articles MATCH ? ORDER BY score LIMIT ?",
            (*WEIGHTS, expression, limit),
        ).fetchall()
