"""CORS for the JSON API only, so other sites' pages (the embed widget) may call it.

The allowlist comes from ``ARTICLE_SEARCH_CORS_ORIGINS`` (``app.config
["CORS_ORIGINS"]``): comma-separated origins such as
``https://example.org,https://www.example.org``, or ``*`` for any site. It
is empty by default, so no other origin can read the API until one is named.
As in datasette's ``add_cors_headers``, headers are added after the view has
run, and only to responses of the ``api`` blueprint (errors included, so a
widget can read the advice in a 400 or 503); HTML pages never get them.
Nothing is sent with credentials: the API has no cookies or logins to share.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable

from flask import Flask, Response, current_app, request

__all__ = ["EXTENSION", "init_app", "parse_origins", "add_cors_headers"]

log = logging.getLogger(__name__)

EXTENSION = "article_search_cors"
ANY = "*"
ALLOW_METHODS = "GET, HEAD, OPTIONS"
#: Request headers a caller may send; all are harmless for a read-only API.
ALLOW_HEADERS = "Accept, Accept-Language, Content-Language, Content-Type"
#: How long a browser may cache a preflight answer (Chromium caps it at 2 hours).
MAX_AGE = "7200"
_ORIGIN = re.compile(r"https?://[a-z0-9.\-\[\]:]+")


def init_app(app: Flask) -> None:
    """Read the allowlist once and add CORS headers to every API response."""
    app.extensions[EXTENSION] = parse_origins(app.config.get("CORS_ORIGINS"))
    app.after_request(add_cors_headers)


def parse_origins(value: str | Iterable[str] | None) -> frozenset[str]:
    """Normalise a comma-separated string (or a list) of origins; ``*`` alone means any origin.

    Entries are compared the way browsers send ``Origin``: lower case, no
    trailing slash, no path. Anything else is logged and ignored, and so is
    ``null`` (sandboxed frames and local files), which must never be trusted.
    """
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else [str(item) for item in value]
    origins: set[str] = set()
    for item in items:
        origin = item.strip().rstrip("/").lower()
        if origin == ANY:
            return frozenset({ANY})
        if _ORIGIN.fullmatch(origin):
            origins.add(origin)
        elif origin:
            log.warning("ignoring CORS origin %r: write it as scheme://host[:port], e.g. https://example.org", item)
    return frozenset(origins)


def add_cors_headers(response: Response) -> Response:
    """Allow a listed origin to read this API response; answer preflight requests."""
    if request.blueprint != "api":
        return response
    allowed: frozenset[str] = current_app.extensions.get(EXTENSION, frozenset())
    if not allowed:
        return response
    if ANY in allowed:
        response.headers["Access-Control-Allow-Origin"] = ANY
    else:
        # The answer depends on Origin, so shared caches must keep one copy per origin.
        response.vary.add("Origin")
        origin = request.headers.get("Origin", "")
        if origin.lower() not in allowed:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response
