"""The insights report: searches per day, top queries, content gaps, click-through, slowest.

Several databases (one per replica) are read at once and merged. Keystroke
requests of a search-as-you-type run are folded here into one search, its
longest form: a run is one tab's keystrokes, each within :data:`RUN_GAP`
seconds of the last and sharing its first letters, wherever (whichever
worker or replica) they were answered. Later pages of a search are not new
searches; their clicks count for it all the same.

A content gap is a query nobody found anything for (no results) or that
nobody opened a result of; each comes with the articles nearest to it in
meaning, so a maintainer tells what is missing from what is badly titled.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from indexer.analytics.records import ClickRecord, SearchRecord
from indexer.analytics.store import DAY, read_rows

__all__ = ["Settled", "settle", "build_report", "Nearest", "LIMIT", "RUN_GAP"]

#: Seconds between two keystroke requests of one run, at most.
RUN_GAP = 10.0
#: Rows per table.
LIMIT = 20
#: Articles listed beside each gap.
NEAREST = 3

#: query -> the nearest articles: [{"id", "title", "url", "similarity"}].
Nearest = Callable[[str, int], list[dict[str, Any]]]


@dataclass
class Settled:
    """One search as a person made it: a whole search-as-you-type run counts once."""

    query: str
    at: float
    results: int
    took_ms: float
    corrected: bool
    partial: bool
    source: str
    ids: set[str] = field(default_factory=set)  # every request's search id (keystrokes, later pages)


def settle(searches: Iterable[SearchRecord]) -> list[Settled]:
    """Fold keystroke runs and later pages into the searches people settled on, oldest first."""
    ordered = sorted(searches, key=lambda record: record.at)
    settled: list[Settled] = []
    runs: dict[str, tuple[SearchRecord, Settled]] = {}  # tab -> its run's last keystroke, and the run
    latest: dict[tuple[str, tuple[object, ...]], Settled] = {}  # (query, filters) -> its last first-page search, for later pages
    for record in ordered:
        if record.page > 1:  # a later page of the latest first page of this query and filters
            first = latest.get((record.query, _filters(record)))
            if first is not None:
                first.ids.add(record.search_id)
            continue
        if record.typing and record.tab:
            open_run = runs.get(record.tab)
            if open_run is not None and _same_run(open_run[0], record):
                run = open_run[1]
                if len(record.query) >= len(run.query):
                    _take(run, record)
                run.ids.add(record.search_id)
                runs[record.tab] = (record, run)
                continue
        search = Settled(record.query, record.at, record.results, record.took_ms, record.corrected, record.partial,
                         record.source, {record.search_id})
        settled.append(search)
        latest[(record.query, _filters(record))] = search
        if record.typing and record.tab:
            runs[record.tab] = (record, search)
    return settled


def _same_run(last: SearchRecord, record: SearchRecord) -> bool:
    if record.at - last.at > RUN_GAP or _filters(last) != _filters(record):
        return False
    shared = len(os.path.commonprefix([last.query, record.query]))
    return shared >= min(3, len(last.query), len(record.query))


def _take(run: Settled, record: SearchRecord) -> None:
    run.query, run.at, run.results, run.took_ms = record.query, record.at, record.results, record.took_ms
    run.corrected, run.partial = record.corrected, record.partial


def _filters(record: SearchRecord) -> tuple[object, ...]:
    return (record.subjects, record.years, record.sort)


def build_report(databases: Sequence[Path | str], days: int, nearest: Nearest | None = None,
                 now: float | None = None) -> dict[str, Any]:
    """The report over the last ``days`` days of every database given.

    :param nearest: finds the articles nearest a query (from the index); None leaves them out.
    :raises StoreUnreadable: a database is missing or unreadable.
    """
    now = time.time() if now is None else now
    since = _day_start(now) - (days - 1) * DAY
    searches: list[SearchRecord] = []
    clicks: list[ClickRecord] = []
    for database in databases:
        found_searches, found_clicks = read_rows(database, since)
        searches += found_searches
        clicks += found_clicks
    settled = settle(searches)
    clicks_by_id: dict[str, list[ClickRecord]] = defaultdict(list)
    for click in clicks:
        clicks_by_id[click.search_id].append(click)
    per_search = [[click for search_id in search.ids for click in clicks_by_id.get(search_id, ())] for search in settled]
    return {
        "days": days,
        "since": _date(since),
        "databases": [str(database) for database in databases],
        "searches": len(settled),
        "per_day": _per_day(settled, since, days),
        "top_queries": _top_queries(settled, per_search),
        "gaps": _gaps(settled, per_search, nearest),
        "click_through": _click_through(settled, per_search),
        "slowest": _slowest(settled),
    }


def _per_day(settled: list[Settled], since: float, days: int) -> list[dict[str, Any]]:
    counts = Counter(_date(search.at) for search in settled)
    dates = [_date(since + number * DAY + DAY / 2) for number in range(days)]
    return [{"date": date, "searches": counts.get(date, 0)} for date in dates]


def _by_query(settled: list[Settled], per_search: list[list[ClickRecord]]) -> dict[str, dict[str, Any]]:
    """Per query: searches, clicks, searches with a click, results and time of the latest."""
    rows: dict[str, dict[str, Any]] = {}
    for search, clicked in zip(settled, per_search):
        row = rows.setdefault(search.query, {"query": search.query, "searches": 0, "clicks": 0, "clicked": 0,
                                             "results": 0, "last_seen": 0.0})
        row["searches"] += 1
        row["clicks"] += len(clicked)
        row["clicked"] += bool(clicked)
        if search.at >= row["last_seen"]:
            row["last_seen"], row["results"] = search.at, search.results
    return rows


def _top_queries(settled: list[Settled], per_search: list[list[ClickRecord]]) -> list[dict[str, Any]]:
    rows = sorted(_by_query(settled, per_search).values(), key=lambda row: (-row["searches"], -row["last_seen"], row["query"]))
    return [
        {"query": row["query"], "searches": row["searches"], "results": row["results"], "clicks": row["clicks"],
         "click_through": _rate(row["clicked"], row["searches"]), "last_seen": _time(row["last_seen"])}
        for row in rows[:LIMIT]
    ]


def _gaps(settled: list[Settled], per_search: list[list[ClickRecord]], nearest: Nearest | None) -> dict[str, Any]:
    rows = sorted(_by_query(settled, per_search).values(), key=lambda row: (-row["searches"], -row["last_seen"], row["query"]))
    empty = [row for row in rows if row["results"] == 0][:LIMIT]
    unopened = [row for row in rows if row["results"] > 0 and row["clicks"] == 0][:LIMIT]

    def listed(row: dict[str, Any]) -> dict[str, Any]:
        return {"query": row["query"], "searches": row["searches"], "results": row["results"],
                "last_seen": _time(row["last_seen"]), "nearest": nearest(row["query"], NEAREST) if nearest else []}

    return {"no_results": [listed(row) for row in empty], "not_opened": [listed(row) for row in unopened]}


def _click_through(settled: list[Settled], per_search: list[list[ClickRecord]]) -> dict[str, Any]:
    with_results = [clicked for search, clicked in zip(settled, per_search) if search.results > 0]
    positions = [click.position for clicked in per_search for click in clicked]
    return {
        "searches_with_results": len(with_results),
        "searches_clicked": sum(bool(clicked) for clicked in with_results),
        "rate": _rate(sum(bool(clicked) for clicked in with_results), len(with_results)),
        "clicks": len(positions),
        "mean_position": round(sum(positions) / len(positions), 2) if positions else None,
    }


def _slowest(settled: list[Settled]) -> list[dict[str, Any]]:
    times: dict[str, list[Settled]] = defaultdict(list)
    for search in settled:
        times[search.query].append(search)
    rows = sorted(times.items(), key=lambda item: (-max(search.took_ms for search in item[1]), item[0]))
    return [
        {"query": query, "took_ms": round(max(search.took_ms for search in found), 1),
         "mean_ms": round(sum(search.took_ms for search in found) / len(found), 1), "searches": len(found),
         "partial": any(search.partial for search in found), "last_seen": _time(max(search.at for search in found))}
        for query, found in rows[:LIMIT]
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _day_start(at: float) -> float:
    day = dt.datetime.fromtimestamp(at, dt.timezone.utc).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


def _date(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).date().isoformat()


def _time(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
