"""Which article urls the web app's own routes would hide, read from its url map.

An article is served at its own ``url`` by the catch-all route; a url that
another route answers first (``/search``, ``/embed.js``, ``/static/...``, every
``/api/`` url) would validate and then never be seen. The indexer knows
nothing of the web app, so ``article-search`` hands it :func:`reserved_by`,
which asks the url map itself, and no list of routes is kept anywhere else.
"""

from __future__ import annotations

import functools

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect

__all__ = ["reserved_by", "ARTICLE_ENDPOINT"]

ARTICLE_ENDPOINT = "pages.article"


def reserved_by(url: str) -> str | None:
    """The route that answers ``url`` instead of an article there (as ``"GET /rule"``), or None."""
    from webapp.api import is_api_path

    if is_api_path(url.rstrip("/") or "/"):
        return "the JSON API (/api/...)"
    if url.rstrip("/") == "/admin" or url.startswith("/admin/"):
        return "the admin pages (/admin/...)"
    try:
        rule, _ = _routes().match(url, method="GET", return_rule=True)
    except RequestRedirect:  # "/search/" redirects to "/search": taken all the same
        return f"the route {url.rstrip('/')}"
    except HTTPException:
        return None
    return None if rule.endpoint == ARTICLE_ENDPOINT else f"the route {rule.rule}"


@functools.cache
def _routes() -> MapAdapter:
    from webapp.app import create_app

    app: Flask = create_app({"TESTING": True, "INDEX_DIR": "/nonexistent"})
    return app.url_map.bind("localhost")
