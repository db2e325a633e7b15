"""Keep the indexer's search service on the app, one per process.

The service opens the Whoosh index lazily and gives each worker thread its
own searcher, so the extension only has to build it once and hand it out.
It lives in ``app.extensions``, never in a module global, so two apps (tests)
never share an index.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, g

from indexer import IndexStore, SearchService

__all__ = ["EXTENSION", "GENERATION_HEADER", "init_app", "get_service", "index_ready"]

EXTENSION = "article_search"
#: Which index generation answered: lets operators (and tests) see every worker switch after a rebuild.
GENERATION_HEADER = "X-Index-Generation"


def init_app(app: Flask) -> None:
    """Create the search service for ``app.config["INDEX_DIR"]`` (nothing is opened yet)."""
    app.extensions[EXTENSION] = SearchService(
        Path(app.config["INDEX_DIR"]), refresh_seconds=float(app.config["REFRESH_SECONDS"])
    )
    app.after_request(_generation_header)


def get_service() -> SearchService:
    """Return the current app's search service."""
    service: SearchService = current_app.extensions[EXTENSION]
    g.index_used = True
    return service


def _generation_header(response: Response) -> Response:
    """Name the generation this worker thread's searcher answered from, on responses that used the index."""
    if g.get("index_used"):
        generation = current_app.extensions[EXTENSION].generation
        if generation >= 0:
            response.headers[GENERATION_HEADER] = str(generation)
    return response


def index_ready(index_dir: Path | str) -> bool:
    """True when an index has been built at ``index_dir`` (reads only the pointer file)."""
    return IndexStore(index_dir).pointer() is not None
