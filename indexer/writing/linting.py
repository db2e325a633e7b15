"""Content lint of an update's articles, checked against the index rather than the whole corpus.

An update reads only the files that changed, so its lint covers those: their
own checks, and their related links and titles looked up in the committed
index (a few term look-ups each, nothing of the unchanged articles is read).
``index check`` lints every article.
"""

from __future__ import annotations

from typing import Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from indexer.corpus.articles import Article
from indexer.corpus.files import walk_order
from indexer.corpus.lint import LintWarning, cross_warnings, own_warnings, title_key
from indexer.index.schema import unpack_article

__all__ = ["lint_changes"]


class _IndexKnown:
    """What the committed index holds, as the lint's cross-article checks ask it."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.paths = searcher.reader().column_reader("path")

    def has_id(self, article_id: int) -> bool:
        return self.searcher.document_number(article_id=article_id) is not None

    def has_url(self, url: str) -> bool:
        return self.searcher.document_number(url=url) is not None

    def earlier_title(self, title: str, source: str) -> str | None:
        # Whole titles are terms of the completion field: its postings are the candidates.
        field = self.searcher.schema["completion"]
        key, mine = title_key(title), walk_order(source)
        for term in set(field.process_text(title, mode="query")):
            if ("completion", term) not in self.searcher.reader():
                continue
            for docnum in self.searcher.postings("completion", term).all_ids():
                path = self.paths[docnum]
                if path != source and walk_order(path) < mine and self._title(docnum) == key:
                    return str(path)
        return None

    def _title(self, docnum: int) -> str:
        fields: dict[str, Any] = self.searcher.stored_fields(docnum)
        return title_key(unpack_article(fields).get("title", ""))


def lint_changes(ix: whoosh_index.Index, articles: list[Article]) -> list[LintWarning]:
    """Lint the articles an update just committed, against everything the index now holds."""
    if not articles:
        return []
    found: list[LintWarning] = []
    with ix.searcher() as searcher:
        known = _IndexKnown(searcher)
        for article in articles:
            found.extend(own_warnings(article))
            found.extend(cross_warnings(article, known))
    return sorted(found, key=lambda warning: (warning.source, warning.line or 0))
