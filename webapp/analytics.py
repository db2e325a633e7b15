"""Record searches and result clicks for ``article-search insights``, off the request path.

A view hands its results to :func:`record_search`, which queues one record
(the indexer's :class:`~indexer.analytics.recorder.Recorder` writes it from a
background thread) and returns the search's random id, so a click on one of
its results can name it. Nothing about the person is kept: no address, no
cookie, no user agent; the widget's keystroke requests (``typing=1``) carry a
random id of their tab so a report folds the run into one search.

``ARTICLE_SEARCH_ANALYTICS=off`` records nothing; ``ARTICLE_SEARCH_ANALYTICS_DB``
names the file (``var/analytics.sqlite3``); ``ARTICLE_SEARCH_ANALYTICS_DAYS``
how long records are kept (90).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for

from indexer import SearchResults
from indexer.analytics.recorder import Recorder
from indexer.analytics.records import ClickRecord, SearchRecord, new_search_id, stored_query, valid_search_id, valid_tab
from indexer.analytics.store import DEFAULT_DB

__all__ = ["EXTENSION", "init_app", "recorder", "record_search", "record_click", "click_url", "MAX_POSITION"]

log = logging.getLogger(__name__)

EXTENSION = "article_search_analytics"
MAX_POSITION = 50 * 1000  # per_page times pages, at most
OFF = {"off", "false", "0", "no"}


def init_app(app: Flask) -> None:
    """Make the app's recorder, or none when ``ANALYTICS`` is off (nothing is opened yet)."""
    app.config.setdefault("ANALYTICS", "on")
    app.config.setdefault("ANALYTICS_DB", DEFAULT_DB)
    app.config.setdefault("ANALYTICS_DAYS", 90)
    enabled = str(app.config["ANALYTICS"]).strip().lower() not in OFF
    try:
        days = float(app.config["ANALYTICS_DAYS"])
    except (TypeError, ValueError):
        log.warning("ARTICLE_SEARCH_ANALYTICS_DAYS=%r is not a number of days: keeping 90", app.config["ANALYTICS_DAYS"])
        days = 90.0
    app.extensions[EXTENSION] = Recorder(str(app.config["ANALYTICS_DB"]), days) if enabled else None


def recorder() -> Recorder | None:
    found: Recorder | None = current_app.extensions.get(EXTENSION)
    return found


def record_search(results: SearchResults, source: str) -> str | None:
    """Queue a settled search (or a keystroke of one, if the request says ``typing=1``); return its id."""
    found = recorder()
    query = stored_query(results.query)
    if found is None or not query:
        return None
    typing = request.args.get("typing", "") == "1"
    tab = request.args.get("tab", "")
    search_id = new_search_id()
    found.record(SearchRecord(
        search_id=search_id, query=query, source="widget" if typing else source, results=results.total,
        page=results.page, took_ms=results.took_ms, subjects=results.subjects, years=results.years, sort=results.sort,
        corrected=results.corrected is not None, partial=results.partial, typing=typing, tab=tab if valid_tab(tab) else "",
    ))
    return search_id


def record_click(search_id: str, position: int, article_id: int) -> bool:
    """Queue a click on result ``position`` of search ``search_id``; False if the id is not one of ours."""
    found = recorder()
    if not valid_search_id(search_id) or not 1 <= position <= MAX_POSITION or article_id < 0:
        return False
    if found is not None:
        found.record(ClickRecord(search_id, position, article_id))
    return True


def click_url(search_id: str | None, position: int, article_id: int) -> str:
    """Where a result link pings when followed (its ``ping`` attribute), or "" when nothing is recorded."""
    if not search_id:
        return ""
    query = urlencode({"search": search_id, "position": position, "article": article_id})
    return f"{url_for('api.click')}?{query}"
