"""The articles nearest a query, from the live index, for the report's content gaps."""

from __future__ import annotations

import logging
from typing import Any

from indexer.analytics.report import Nearest
from indexer.index.store import IndexStoreError
from indexer.search.service import SearchService

__all__ = ["nearest_in"]

log = logging.getLogger(__name__)


def nearest_in(service: SearchService) -> Nearest:
    """A :data:`Nearest` over ``service``'s index (by meaning where it has vectors, else by words).

    An index that cannot be read gives no neighbours rather than no report.
    """

    def find(query: str, count: int) -> list[dict[str, Any]]:
        try:
            pairs = service.nearest_ids(query, count)
            articles = [(service.article(article_id=article_id), similarity) for article_id, similarity in pairs]
        except IndexStoreError as error:
            log.warning("nearest articles left out: %s", error)
            return []
        return [
            {"id": article.id, "title": article.title, "url": article.url, "similarity": similarity}
            for article, similarity in articles if article is not None
        ]

    return find
