"""The Whoosh schema: which article fields are searched, stored and sorted.

Text repeated across fields is indexed once: ``question`` and
``article_title`` are only indexed where they say something the title does
not (see :func:`indexer.index.documents.document_for`).
"""

from __future__ import annotations

import json
from typing import Any

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from indexer.index.analysis import keyword_analyzer, text_analyzer

__all__ = ["SCHEMA_VERSION", "make_schema", "SEARCH_FIELDS", "FIELD_BOOSTS", "KEYWORD_BOOST", "pack_article", "unpack_article"]

#: Bumped whenever the schema or analysis changes, so an old index is rebuilt.
#: 2: the stored article JSON is the only stored field; spelling words moved to
#: indexer.index.vocabulary.
SCHEMA_VERSION = 2

#: Fields a free-text query's words search, with their weights (BM25F field
#: boosts). ``keywords`` (whole keywords) is matched against the whole query.
FIELD_BOOSTS: dict[str, float] = {
    "title": 2.5,
    "question": 1.5,
    "keyword_text": 1.2,
    "answer": 1.0,
}
KEYWORD_BOOST = 2.0
SEARCH_FIELDS = tuple(FIELD_BOOSTS)


def make_schema() -> Schema:
    """Build the schema; every text field shares one analyzer so stems agree."""
    analyzer = text_analyzer()
    return Schema(
        # Identity and bookkeeping
        # (columns, so `index update` can read them without loading stored articles)
        path=ID(unique=True, sortable=True),
        content_hash=ID(sortable=True),
        article_id=NUMERIC(int, bits=64, unique=True, signed=False, sortable=True),
        url=ID(unique=True, sortable=True),
        # Searched text: positions kept for phrase queries
        title=TEXT(analyzer=analyzer),
        question=TEXT(analyzer=analyzer),
        answer=TEXT(analyzer=analyzer),
        keywords=KEYWORD(analyzer=keyword_analyzer(), scorable=True, commas=True),
        keyword_text=TEXT(analyzer=analyzer),
        # Whole titles and keywords, one per line, for query completion
        completion=KEYWORD(analyzer=keyword_analyzer("\n")),
        # Filters, facets and sorting
        subject=ID(sortable=True),
        date=DATETIME(sortable=True),
        # The whole article (pack_article), so pages and snippets need no corpus.
        # It is the only stored field: everything a hit shows is in it.
        article=STORED(),
    )


def pack_article(data: dict[str, Any]) -> str:
    """Store an article's dict as JSON (Whoosh compresses stored fields itself)."""
    return json.dumps(data, ensure_ascii=False, default=str)


def unpack_article(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the article dict from a document's stored fields."""
    data: dict[str, Any] = json.loads(fields["article"])
    return data
