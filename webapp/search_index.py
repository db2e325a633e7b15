"""Keep the indexer's search service on the app, one per process.

The service opens the Whoosh index lazily and gives each worker thread its
own searcher, so the extension only has to build it once and hand it out.
It lives in ``app.extensions``, never in a module global, so two apps (tests)
never share an index.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from indexer import IndexStore, SearchService

__all__ = ["EXTENSION", "init_app", "get_service", "index_ready"]

EXTENSION = "article_search"


def init_app(app: Flask) -> None:
    """Create the search service for ``app.config["INDEX_DIR"]`` (nothing is opened yet)."""
    app.extensions[EXTENSION] = SearchService(
        Path(app.config["INDEX_DIR"]), refresh_seconds=float(app.config["REFRESH_SECONDS"])
    )


def get_service() -> SearchService:
    """Return the current app's search service."""
    service: SearchService = current_app.extensions[EXTENSION]
    return service


def index_ready(index_dir: Path | str) -> bool:
    """True when an index has been built at ``index_dir`` (reads only the pointer file)."""
    return IndexStore(index_dir).pointer() is not None
