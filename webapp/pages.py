"""The HTML pages: the search page, results, and each article at its own url.

Views only read parameters, call the search service and render templates;
markup from the indexer (``*_html``: escaped text plus ``<mark>``) and from
``render_markdown`` (sanitised by nh3) is marked safe here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.security import safe_join

from indexer import Article, SearchError, SearchResults, render_markdown
from indexer.corpus.blocks import answer_blocks, block_ids
from indexer.search.query import MAX_QUERY_CHARS
from indexer.search.service import MAX_PAGE, MAX_PER_PAGE
from webapp.analytics import click_url, record_search
from webapp.api import error_response as api_error_response
from webapp.api import is_api_path
from webapp.citations import site_citations
from webapp.facets import chosen_values, facet_groups, filtered_by
from webapp.params import clamped_int_arg, sort_arg, subjects_arg, text_arg, years_arg
from webapp.search_index import get_service

__all__ = ["bp", "error_response", "cache_static"]

bp = Blueprint("pages", __name__)

_WORD = re.compile(r"\w[\w'’-]*")
_QUERY_SYNTAX = re.compile(r"[\"()]|(?<!\w)-|\b(?:AND|OR|NOT)\b")
STATIC_MAX_AGE = 365 * 24 * 3600

ERROR_TITLES = {
    400: "That request could not be understood",
    404: "Page not found",
    405: "Method not allowed",
    500: "Something went wrong",
    503: "Search is not available yet",
}
ERROR_ADVICE = {
    400: "Check the address, or start a new search below.",
    404: "No article or page lives at this address. Try searching for it instead.",
    405: "This address only answers ordinary page visits (GET). Start a new search below.",
    500: "The server failed on this request. Try again, and report it if it keeps happening.",
    503: "Search is not available right now. Try again in a moment.",
}


# -- views ------------------------------------------------------------------------


@bp.get("/")
@bp.get("/search")
def search() -> Any:
    """The search box, and when ``q`` has words, one page of ranked results."""
    service = get_service()
    q = text_arg("q")
    per_page = clamped_int_arg("per_page", current_app.config["PER_PAGE"], 1, MAX_PER_PAGE)
    page = clamped_int_arg("page", 1, 1, MAX_PAGE)
    if not q.strip():
        hidden = per_page if per_page != current_app.config["PER_PAGE"] else None
        return render_template(
            "search.html", q="", results=None, documents=service.stats()["documents"], per_page_hidden=hidden
        )
    try:
        results = service.search(q, page=page, per_page=per_page, subject=subjects_arg(), year=years_arg(), sort=sort_arg())
    except SearchError as error:  # a year or sort typed wrong: say what is allowed
        raise BadRequest(str(error)) from None
    if results.total and page > results.pages:
        return redirect(_search_url(results, page=results.pages))
    json_url = url_for("api.search", **_search_params(results, page=results.page))
    search_id = record_search(results, "page")
    body = render_template("search.html", q=results.query, results=results, view=_view(results), json_url=json_url,
                           search_id=search_id)
    return _with_json_twin(Response(body), json_url)


@bp.get("/<path:path>")
def article(path: str) -> Any:
    """Render the article whose url is this path; a real 404 page otherwise."""
    if path.startswith(("api/", "static/")):
        abort(404)
    url = "/" + path.rstrip("/")
    service = get_service()
    found = service.article(url=url)
    if found is None:
        abort(404)
    if path.endswith("/"):
        query = request.query_string.decode("latin-1")
        return redirect(f"{url}?{query}" if query else url, 308)
    q = text_arg("q")
    json_url = url_for("api.article", article_id=found.id)
    body = render_template("article.html", article=found, q=q, json_url=json_url, **_article_view(found, q))
    return _with_json_twin(Response(body), json_url)


def _with_json_twin(response: Response, json_url: str) -> Response:
    """Advertise the page's JSON twin in a Link header, as datasette does."""
    response.headers["Link"] = f'<{json_url}>; rel="alternate"; type="application/json"'
    return response


def _article_view(found: Article, q: str) -> dict[str, Any]:
    """Title, question and rendered answer, with the query's terms marked when ``q`` is given."""
    service = get_service()
    answer_html = block_ids(render_markdown(found.answer), answer_blocks(found.answer))  # passage links land here
    title, question = str(escape(found.title)), str(escape(found.question))
    if q.strip():
        highlighter = service.highlighter(q)
        answer_html = highlighter.mark_html(answer_html)
        title, question = highlighter.mark(found.title), highlighter.mark(found.question)
    urls = [link.url for link in found.related if link.url]
    existing = service.existing_urls(urls) if urls else set()
    return {
        "title_html": Markup(title),
        "question_html": Markup(question) if found.question.strip() != found.title.strip() else None,
        "answer_html": Markup(answer_html),
        "related": [link for link in found.related if link.url in existing],
        "citations": site_citations(found),
    }


def _view(results: SearchResults) -> dict[str, Any]:
    """What the results template needs beyond the results themselves."""
    typed = {word.lower() for word in _WORD.findall(results.query)}
    plain = " ".join(_QUERY_SYNTAX.sub(" ", results.query).split())
    searchable = typed - {word.lower() for word in results.unmatched}  # words some article contains
    return {
        "first_rank": (results.page - 1) * results.per_page + 1,
        "positions": {hit.id: (results.page - 1) * results.per_page + rank for rank, hit in enumerate(results.results, 1)},
        # Each hit with the forms of the query's words it matched beyond those typed ("drugs" for "drug").
        "rows": [(hit, [term for term in hit.matched_terms if term.lower() not in typed]) for hit in results.results],
        "has_words": bool(typed),
        "plain_query": plain if searchable and plain != results.query else None,
        "pages": _page_window(results.page, results.pages),
        "facet_groups": facet_groups(results, _search_url),
        "filtered_by": filtered_by(results),
    }


def _page_window(current: int, last: int, reach: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last, and a few around the current (None is a gap)."""
    wanted = sorted({1, last, *range(max(1, current - reach), min(last, current + reach) + 1)})
    window: list[int | None] = []
    for number in wanted:
        if window and number - (window[-1] or 0) > 1:
            window.append(None)
        window.append(number)
    return window


# -- links ------------------------------------------------------------------------


def _search_params(results: SearchResults | None = None, **changes: Any) -> dict[str, Any]:
    """The current search's parameters (q, subject, year, sort, per_page, page) with ``changes`` applied.

    A facet's values are a list: the url repeats the parameter (``subject=A&subject=B``).
    """
    params: dict[str, Any] = {}
    if results is not None:
        params = {
            "q": results.query,
            "subject": list(results.subjects),
            "year": chosen_values(results, "year"),
            "sort": results.sort,
            "page": results.page,
        }
        if results.per_page != current_app.config["PER_PAGE"]:
            params["per_page"] = results.per_page
    params.update(changes)
    if params.get("page") == 1:
        params.pop("page")
    if params.get("sort") == "relevance":
        params.pop("sort")
    return {key: value for key, value in params.items() if value not in (None, "", [])}


@bp.app_context_processor
def _template_constants() -> dict[str, Any]:
    return {"max_query_chars": MAX_QUERY_CHARS}


@bp.app_template_global("search_url")
def _search_url(results: SearchResults | None = None, **changes: Any) -> str:
    """A /search url that keeps the current query, filters, sort and page size."""
    return url_for("pages.search", **_search_params(results, **changes))


@bp.app_template_global("click_ping")
def _click_ping(search_id: str | None, position: int, article_id: int) -> str:
    """A result link's ``ping`` url, recording the click without changing its href ("" when not recording)."""
    return click_url(search_id, position, article_id)


@bp.app_template_filter("with_query")
def _with_query(url: str, q: str) -> str:
    """Append ``?q=`` to an article url so its page marks the query's terms."""
    return f"{url}?{urlencode({'q': q})}" if q else url


@bp.app_template_filter("nice_date")
def _nice_date(value: dt.date | str | None) -> str:
    """Show a date as "6 January 2025"; anything unparseable as it is."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day:%B %Y}"


@bp.app_template_global("static_url")
def _static_url(filename: str) -> str:
    """A /static url carrying a hash of the file, so it can be cached for a year."""
    return url_for("static", filename=filename, v=_static_version(filename))


def _static_version(filename: str) -> str:
    versions: dict[str, str] = current_app.extensions.setdefault("static_versions", {})
    if filename not in versions:
        path = safe_join(current_app.static_folder or "", filename)
        if path is None or not os.path.isfile(path):
            return "0"  # not cached: only real static files take a slot
        with open(path, "rb") as handle:
            versions[filename] = hashlib.sha256(handle.read()).hexdigest()[:12]
    return versions[filename]


def cache_static(response: Response) -> Response:
    """Versioned static files are immutable for a year; unversioned ones for an hour."""
    if request.endpoint == "static" and response.status_code in (200, 304):
        filename = (request.view_args or {}).get("filename", "")
        versioned = request.args.get("v") == _static_version(filename)
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_MAX_AGE if versioned else 3600
        response.cache_control.immutable = versioned
    return response


# -- errors -----------------------------------------------------------------------


def error_response(error: HTTPException) -> Response:
    """Render ``error.html`` for any HTTP error, with advice on what to do next.

    The catch-all article route also matches unknown /api/ urls: those get JSON.
    """
    if is_api_path(request.path):
        return api_error_response(error)
    status = error.code or 500
    custom = error.description != type(error).description
    message = str(error.description) if custom and error.description else ERROR_ADVICE.get(status, ERROR_ADVICE[400])
    suggestion = _words_from_path(request.path) if isinstance(error, NotFound) else ""
    body = render_template(
        "error.html", status=status, title=ERROR_TITLES.get(status, "Error"), message=message, suggestion=suggestion
    )
    response = Response(body, status=status)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _words_from_path(path: str) -> str:
    """Guess a search from a mistyped article url: its last part, hyphens as spaces."""
    last = path.rstrip("/").rpartition("/")[2]
    return " ".join(_WORD.findall(last.replace("-", " ")))[:100]


bp.register_error_handler(HTTPException, error_response)
