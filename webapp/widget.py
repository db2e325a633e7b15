"""Search on other sites: the drop-in widget, an iframe page, OpenSearch and the embedding guide.

Routes::

    /embed.js             the <article-search> custom element (static/widget.js with static/combobox.js inlined)
    /embed?q=             a minimal results page for hosts that allow no script (frameable)
    /opensearch.xml       OpenSearch description: browsers offer our search in the address bar
    /opensearch/suggest   completions in OpenSearch's application/x-suggestions+json form
    /embedding            the guide for site owners, with a live demo

Only :data:`FRAMEABLE_ENDPOINTS` may be put in another site's iframe; the
app's security-header hook refuses framing for everything else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    url_for,
)

from indexer import SearchError
from webapp.analytics import record_search
from webapp.cors import ANY
from webapp.cors import EXTENSION as CORS_EXTENSION
from webapp.params import clamped_int_arg, sort_arg, subjects_arg, text_arg, years_arg
from webapp.search_index import get_service

__all__ = ["bp", "FRAMEABLE_ENDPOINTS", "ATTRIBUTES", "THEME", "widget_script"]

bp = Blueprint("widget", __name__)

#: Endpoints other sites may frame (``frame-ancestors *``, no X-Frame-Options).
FRAMEABLE_ENDPOINTS = frozenset({"widget.embed"})
EMBED_PER_PAGE = 5
MAX_EMBED_PER_PAGE = 20
MAX_SUGGESTIONS = 10
#: The browser may reuse /embed.js for an hour; its url carries no version for hosts to update.
SCRIPT_MAX_AGE = 3600
#: The line of widget.js that the shared combobox (static/combobox.js) replaces when served.
INCLUDE_COMBOBOX = "/* @include combobox.js */"
STATIC = Path(__file__).resolve().parent / "static"
#: OpenSearch's ShortName must be at most 16 characters.
SHORT_NAME_CHARS = 16

#: The widget's attributes, as the guide documents them: (name, default, what it does).
ATTRIBUTES = [
    ("api-base", "the site that served embed.js", "Base url of the search site whose /api/search is called; http(s) only."),
    ("label", "Search articles", "Accessible name of the search box, read by screen readers."),
    ("placeholder", "the label", "Hint text shown in the empty search box."),
    ("results", "5", "How many results to show, from 1 to 20."),
    ("subject", "all subjects", "Only search this subject, e.g. Medicine; several, comma-separated, for any of them."),
    ("year", "all years", "Only articles dated in this year, e.g. 2025; several, comma-separated, for any of them."),
    ("sort", "relevance", "relevance (best first) or newest (newest first)."),
    ("target", "_self", "Where articles open: _self, _blank, _top or _parent."),
    ("shortcut", "none", "One key, e.g. /, that focuses the box from anywhere on the page."),
    ("timeout", "8000", "Milliseconds to wait for an answer before saying search is slow (500 to 60000)."),
]

#: CSS custom properties the widget reads: (name, default, what it styles).
THEME = [
    ("--article-search-font", '16px/1.5 system-ui, sans-serif', "Font shorthand for the whole widget."),
    ("--article-search-text", "#1f2933", "Text colour."),
    ("--article-search-muted", "#4a5664", "Subjects and messages."),
    ("--article-search-bg", "#fff", "Background of the box and the results."),
    ("--article-search-border", "#8592a3", "Borders of the box and the results."),
    ("--article-search-radius", "10px", "Corner radius."),
    ("--article-search-accent", "#1d4ed8", "Border of the focused box and of the chosen result."),
    ("--article-search-focus", "#f59e0b", "Focus ring."),
    ("--article-search-link", "#1d4ed8", "Result titles and the “see all” link."),
    ("--article-search-hover-bg", "#f4f6f9", "Result under the pointer."),
    ("--article-search-active-bg", "#e8eefc", "Result chosen with the arrow keys."),
    ("--article-search-mark-bg", "#fde68a", "Background of matched words."),
    ("--article-search-mark-text", "#1f2933", "Colour of matched words."),
    ("--article-search-error", "#9f1239", "Error messages."),
    ("--article-search-max-height", "70vh", "Tallest the results may grow before they scroll."),
    ("--article-search-z-index", "1000", "Stacking order of the results over the page."),
]

#: Parts for ``article-search::part(name)`` rules.
PARTS = ["container", "label", "input", "popup", "listbox", "option", "title", "subject", "snippet", "message", "see-all"]


def widget_script(static: Path = STATIC) -> bytes:
    """The widget as one script: other sites load one file, while the site's own box and the
    widget share one combobox (static/combobox.js) rather than two copies that drift apart."""
    widget = (static / "widget.js").read_text(encoding="utf-8")
    if widget.count(INCLUDE_COMBOBOX) != 1:
        raise RuntimeError(f"static/widget.js must hold the line {INCLUDE_COMBOBOX!r} exactly once")
    combobox = (static / "combobox.js").read_text(encoding="utf-8").strip()
    return widget.replace(INCLUDE_COMBOBOX, combobox).encode("utf-8")


@bp.get("/embed.js")
def embed_js() -> Response:
    """The widget script, loadable by any site (a script tag needs no CORS)."""
    cache: dict[str, bytes] = current_app.extensions.setdefault("widget_script", {})
    if "body" not in cache:
        cache["body"] = widget_script(Path(current_app.static_folder or STATIC))
    body = cache["body"]
    response = Response(body, mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = SCRIPT_MAX_AGE
    response.set_etag(hashlib.sha256(body).hexdigest()[:16])
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)  # a 304 when the browser's copy is this one
    return response


@bp.get("/embed")
def embed() -> str:
    """A small results page made for iframes: no header or footer, links open in the top window."""
    q = text_arg("q")
    # The filters as given, kept in the page's form and links (the search checks them).
    subjects, years, sort = [s for s in subjects_arg() if s], [y for y in years_arg() if y], sort_arg()
    filters = {"subject": subjects, "year": years, "sort": sort or None}
    per_page = clamped_int_arg("per_page", EMBED_PER_PAGE, 1, MAX_EMBED_PER_PAGE)
    results, error, search_id = None, None, None
    if q.strip():
        try:
            results = get_service().search(q, page=1, per_page=per_page, subject=subjects, year=years, sort=sort)
        except SearchError as problem:
            error = str(problem)
        else:
            search_id = record_search(results, "embed")
    return render_template("embed.html", q=q, filters=filters, per_page=per_page, results=results, error=error,
                           search_id=search_id)


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    """The OpenSearch description, with absolute urls for the results page and suggestions."""
    name = current_app.config["SITE_NAME"]
    body = render_template("opensearch.xml", short_name=name[:SHORT_NAME_CHARS], long_name=name)
    return Response(body, mimetype="application/opensearchdescription+xml")


@bp.get("/opensearch/suggest")
def opensearch_suggest() -> Response:
    """Completions as OpenSearch Suggestions: ``["query", ["completion", ...]]``."""
    prefix = text_arg("q", 200)
    completions = get_service().suggest(prefix, limit=MAX_SUGGESTIONS) if prefix.strip() else []
    # The app's JSON provider, so the echoed query's "<" is escaped as in every other JSON answer.
    return Response(current_app.json.dumps([prefix, completions]), mimetype="application/x-suggestions+json")


@bp.get("/embedding")
def embedding() -> str:
    """The embedding guide: the snippet, attributes, theme properties, and a live demo."""
    allowed: frozenset[str] = current_app.extensions.get(CORS_EXTENSION, frozenset())
    return render_template(
        "embedding.html",
        script_url=url_for("widget.embed_js", _external=True),
        embed_url=url_for("widget.embed", _external=True),
        attributes=ATTRIBUTES,
        theme=THEME,
        parts=PARTS,
        cors_any=ANY in allowed,
    )
