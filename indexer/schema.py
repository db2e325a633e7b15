"""The Whoosh schema: which article fields are searched, stored and sorted.

Text repeated across fields is indexed once: ``question`` and
``article_title`` are only indexed where they say something the title does
not (see :func:`indexer.build.document_for`).
"""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import keyword_analyzer, text_analyzer

__all__ = ["SCHEMA_VERSION", "make_schema", "SEARCH_FIELDS", "FIELD_BOOSTS", "KEYWORD_BOOST"]

#: Bumped whenever the schema or analysis changes, so an old index is rebuilt.
SCHEMA_VERSION = 1

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
        # (columns, so `index update` reads them without loading stored articles)
        path=ID(stored=True, unique=True, sortable=True),
        content_hash=ID(sortable=True),
        article_id=NUMERIC(int, bits=64, stored=True, unique=True, signed=False, sortable=True),
        url=ID(stored=True, unique=True, sortable=True),
        # Searched text: positions kept for phrases and highlighting
        title=TEXT(analyzer=analyzer, stored=True, spelling=True),
        question=TEXT(analyzer=analyzer),
        answer=TEXT(analyzer=analyzer, spelling=True),
        keywords=KEYWORD(analyzer=keyword_analyzer(), scorable=True, stored=True, commas=True),
        keyword_text=TEXT(analyzer=analyzer),
        # Whole titles and keywords, one per line, for query completion
        completion=KEYWORD(analyzer=keyword_analyzer("\n")),
        # Filters, facets and sorting
        subject=ID(stored=True, sortable=True),
        date=DATETIME(stored=True, sortable=True),
        # The whole article as JSON, so pages and snippets need no corpus.
        article=STORED(),
    )
