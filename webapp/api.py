"""The JSON API: search, completions, one article, health, and its OpenAPI description.

Successes carry ``"ok": true``; every failure, from a bad parameter to an
unknown url or a missing index, answers ``{"ok": false, "error": "<what to
do>", "status": N}`` with that status, built by :func:`json_error` only.

``openapi.json`` beside this module describes these routes (OpenAPI 3.1); it
is a static file shipped in the package, and ``tests/test_openapi.py`` keeps
it true to the real responses.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from indexer import SearchError
from indexer.search.service import MAX_PAGE, MAX_PER_PAGE
from webapp.analytics import MAX_POSITION, record_click, record_search
from webapp.citations import citations_json, site_citations
from webapp.params import int_arg, sort_arg, subjects_arg, text_arg, years_arg
from webapp.search_index import get_service

__all__ = ["bp", "is_api_path", "json_error", "error_response", "openapi_document"]

bp = Blueprint("api", __name__)

MAX_SUGGESTIONS = 20
_ID = re.compile(r"[0-9]{1,19}")

#: What to do, per status, when the error itself carries no more specific advice.
HINTS = {
    400: "the request's parameters are not valid: check them against "
    "/api/search?q=words&page=1&per_page=10&subject=Medicine&year=2025&sort=relevance",
    404: "no such resource: the API answers /api/search?q=, /api/suggest?q=, /api/articles/<id> and /healthz "
    "(described at /openapi.json)",
    405: "this url answers GET only: send a GET request",
    500: "the server failed on this request: try again, and report it if it keeps happening",
    503: "search is not available right now: try again shortly",
}


def is_api_path(path: str) -> bool:
    """True for urls whose errors must be JSON, whichever blueprint (if any) matched them."""
    return path in ("/healthz", "/openapi.json", "/api") or path.startswith("/api/")


def json_error(status: int, message: str) -> Response:
    """The one error shape of the API."""
    response = jsonify(ok=False, error=message, status=status)
    response.status_code = status
    return response


def error_response(error: HTTPException) -> Response:
    """Turn any HTTP error into :func:`json_error`, keeping a custom description as the advice."""
    status = error.code or 500
    custom = error.description != type(error).description
    message = str(error.description) if custom and error.description else HINTS.get(status, HINTS[400])
    if isinstance(error, MethodNotAllowed) and error.valid_methods and "GET" not in error.valid_methods:
        allowed = [method for method in error.valid_methods if method not in ("HEAD", "OPTIONS")]
        message = f"this url answers {' and '.join(allowed)} requests only: send a POST request"
    response = json_error(status, message)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


bp.register_error_handler(HTTPException, error_response)


@bp.get("/api/search")
def search() -> Response:
    """Search: ``q``, ``page`` (1-1000), ``per_page`` (1-50), ``subject`` and ``year`` (each repeatable), ``sort``."""
    page = int_arg("page", 1, 1, MAX_PAGE)
    per_page = int_arg("per_page", 10, 1, MAX_PER_PAGE)
    try:
        results = get_service().search(
            text_arg("q"), page=page, per_page=per_page, subject=subjects_arg(), year=years_arg(), sort=sort_arg()
        )
    except SearchError as error:
        return json_error(400, str(error))
    # search_id: what a click on one of these results names (null when analytics are off).
    return jsonify({**results.as_dict(), "search_id": record_search(results, "api")})


@bp.post("/api/click")
def click() -> Response:
    """Record that result ``position`` (1-based) of search ``search`` was opened: a beacon or a link's ``ping``."""
    hint = "send search (the search_id of the results clicked), position (1 or more) and article (its id)"
    if not all(request.args.get(name, "").strip() for name in ("search", "position", "article")):
        return json_error(400, hint)
    position = int_arg("position", 1, 1, MAX_POSITION)
    article_id = int_arg("article", 1, 0, 10**12)
    if not record_click(request.args.get("search", ""), position, article_id):
        return json_error(400, hint)
    return Response(status=204)


@bp.get("/api/suggest")
def suggest() -> Response:
    """Completions for a partial query, from titles, keywords and indexed words."""
    prefix = text_arg("q", 200)
    limit = int_arg("limit", 8, 1, MAX_SUGGESTIONS)
    return jsonify(ok=True, query=prefix, suggestions=get_service().suggest(prefix, limit=limit))


@bp.get("/api/articles/<article_id>")
def article(article_id: str) -> Response:
    """One article as JSON: the indexer's ``Article.to_dict()``, ``"ok": true`` and its citations."""
    if not _ID.fullmatch(article_id):
        return json_error(404, "article ids are whole numbers: find one with /api/search?q=words")
    found = get_service().article(article_id=int(article_id))
    if found is None:
        return json_error(404, f"no article has id {article_id}: find one with /api/search?q=words")
    return jsonify({"ok": True, **found.to_dict(), "citations": citations_json(site_citations(found))})


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness and what is being served: document count and index generation."""
    return jsonify({"ok": True, **get_service().stats()})


@functools.cache
def openapi_document() -> bytes:
    """The OpenAPI description as shipped, read once per process."""
    return resources.files(__package__).joinpath("openapi.json").read_bytes()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API (served as shipped, with the API's CORS headers)."""
    response = Response(openapi_document(), mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
