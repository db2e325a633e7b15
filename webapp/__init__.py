"""article-search's web app: search pages, article pages and a JSON API over the indexer.

The pieces, one idea per module::

    app.py           the application factory, security headers, app-wide error dispatch
    search_index.py  holds the indexer's SearchService in app.extensions (init_app)
    params.py        request parameters read defensively (query text, page numbers)
    pages.py         HTML blueprint: /, /search, each article at its own url
    api.py           JSON blueprint: /api/search, /api/suggest, /api/articles/<id>, /api/click, /healthz, /openapi.json
    analytics.py     searches and result clicks handed to the indexer's analytics recorder
    admin.py         /admin/insights (the analytics report) behind ARTICLE_SEARCH_ADMIN_TOKEN
    admin_chart.py   its searches-per-day chart as SVG geometry
    cors.py          CORS headers on the JSON API only, from ARTICLE_SEARCH_CORS_ORIGINS
    widget.py        other sites: /embed.js, /embed (frameable), /opensearch.xml, /embedding
    server.py        gunicorn for `article-search serve`
    cli.py           the `article-search` command: the indexer's commands and `serve`

Nothing here imports Whoosh; every search goes through :class:`indexer.SearchService`.
This file stays light (the factory is imported on first use), so the command
line loads Flask only for `serve`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from webapp.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from webapp.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
