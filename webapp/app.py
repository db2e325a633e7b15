"""The application factory: blueprints, security headers, app-wide error dispatch."""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Mapping

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable

import webapp.admin as admin
import webapp.analytics as analytics
import webapp.api as api
import webapp.cors as cors
import webapp.pages as pages
import webapp.search_index as search_index
import webapp.widget as widget
from indexer import IndexMissing, IndexStoreError

__all__ = ["create_app"]

log = logging.getLogger(__name__)

#: No inline script or style anywhere: every page loads /static files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: The same for pages other sites may put in an iframe (widget.FRAMEABLE_ENDPOINTS), errors included.
FRAMEABLE_HEADERS = {
    **{name: value for name, value in SECURITY_HEADERS.items() if name != "X-Frame-Options"},
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *"),
}
MAX_BODY_BYTES = 16 * 1024
#: Settings taken as typed from the environment, never parsed as JSON.
RAW_SETTINGS = ("ADMIN_TOKEN", "ANALYTICS_DB")
INDEX_MISSING_HINT = (
    "The search index has not been built yet: build the index with `article-search index build`, "
    "then reload this page."
)
INDEX_BROKEN_HINT = (
    "The search index cannot be read right now: rebuild the index with `article-search index build`, "
    "then reload this page."
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``ARTICLE_SEARCH_*`` variables, then ``test_config``.

    Creating the app never touches the index, so it starts (and answers 503
    with what to do) even before the first ``article-search index build``.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX_DIR=os.environ.get("ARTICLE_SEARCH_INDEX") or "var/index",
        REFRESH_SECONDS=1.0,  # how often a worker thread checks for a newer index generation
        PER_PAGE=10,
        SITE_NAME="Article Search",
        # No request needs a large body (the admin login form and /api/click are the only POSTs): refused unread (413).
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.config.from_prefixed_env("ARTICLE_SEARCH")
    for name in RAW_SETTINGS:  # from_prefixed_env reads values as JSON: a token "1e3" must stay "1e3"
        if f"ARTICLE_SEARCH_{name}" in os.environ:
            app.config[name] = os.environ[f"ARTICLE_SEARCH_{name}"]
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.json = SafeJSONProvider(app)

    search_index.init_app(app)
    analytics.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(admin.bp)
    cors.init_app(app)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IndexStoreError, _index_unavailable)
    app.before_request(_refuse_large_bodies)
    app.after_request(_security_headers)
    app.after_request(pages.cache_static)
    return app


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON with the API's key order kept and ``<`` escaped outside ``<mark>`` tags.

    A query echoed back (``"query": "<script>..."``) then never appears as
    markup in the raw body, while ``*_html`` values stay readable with curl.
    """

    sort_keys = False
    _LT = re.compile(r"<(?!/?mark>)")

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self._LT.sub(lambda _: "\\u003c", super().dumps(obj, **kwargs))


def _http_error(error: HTTPException) -> Any:
    """Answer errors raised outside a blueprint (unknown urls, bad methods) in the right shape."""
    if error.code is None or error.code < 400:
        return error
    return api.error_response(error) if api.is_api_path(request.path) else pages.error_response(error)


def _index_unavailable(error: IndexStoreError) -> Any:
    """A missing or unreadable index is a 503 that says how to fix it, never a crash."""
    log.warning("search index unavailable: %s", error)
    hint = INDEX_MISSING_HINT if isinstance(error, IndexMissing) else INDEX_BROKEN_HINT
    response = _http_error(ServiceUnavailable(hint))
    response.headers["Retry-After"] = "30"
    return response


def _refuse_large_bodies() -> None:
    """Answer 413 before any view runs when a request declares a body over MAX_CONTENT_LENGTH."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(
            f"this site answers GET requests without a body; send at most {limit} bytes (no body is needed)"
        )


def _security_headers(response: Response) -> Response:
    frameable = request.endpoint in widget.FRAMEABLE_ENDPOINTS
    for name, value in (FRAMEABLE_HEADERS if frameable else SECURITY_HEADERS).items():
        response.headers.setdefault(name, value)
    return response
