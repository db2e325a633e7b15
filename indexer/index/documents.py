"""What the index stores for an article: its fields, and the texts spelling help reads back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from indexer.corpus.articles import Article
from indexer.corpus.rendering import plain_text
from indexer.index.schema import pack_article

__all__ = ["document_for", "spelled_texts"]


def document_for(article: Article, digest: str) -> dict[str, Any]:
    """Map an article to the index's fields, indexing repeated text only once."""
    title_key = " ".join(article.title.lower().split())
    question = article.question if " ".join(article.question.lower().split()) != title_key else ""
    alt_title = article.article_title
    if alt_title and " ".join(alt_title.lower().split()) not in (title_key, " ".join(question.lower().split())):
        question = f"{question}\n{alt_title}".strip()
    date = dt.datetime.combine(article.date, dt.time()) if article.date else None
    doc: dict[str, Any] = {
        "path": article.source,
        "content_hash": digest,
        "article_id": article.id,
        "url": article.url,
        "title": article.title,
        "question": question,
        "answer": plain_text(article.answer),
        "keywords": ",".join(article.keywords),
        "keyword_text": " ; ".join(article.keywords),
        "completion": "\n".join([article.title, *article.keywords]),
        "subject": article.subject,
        "article": pack_article(article.to_dict()),
    }
    if date is not None:
        doc["date"] = date
    return doc



def spelled_texts(data: dict[str, Any]) -> tuple[str, str]:
    """The texts of a stored article that spelling help draws on, as they were indexed."""
    return data.get("title", ""), plain_text(data.get("answer", ""))
