"""The insights report as plain text, for a terminal or a cron job's mail."""

from __future__ import annotations

from typing import Any

__all__ = ["report_text"]

BAR_WIDTH = 40


def report_text(report: dict[str, Any]) -> str:
    """Every section of :func:`indexer.analytics.report.build_report`, as aligned columns."""
    ctr = report["click_through"]
    lines = [
        f"Search insights: the last {report['days']} days (since {report['since']}), "
        f"{report['searches']} searches, from {', '.join(report['databases'])}",
        "",
        "Searches per day",
        *_chart(report["per_day"]),
        "",
        "Click-through: " + (
            f"{_percent(ctr['rate'])} of {ctr['searches_with_results']} searches with results had a result opened; "
            f"{ctr['clicks']} clicks, mean position {ctr['mean_position'] if ctr['mean_position'] is not None else '-'}"
        ),
        "",
        "Top queries",
        *_table(report["top_queries"], [("searches", "searches"), ("results", "results"), ("clicks", "clicks"),
                                        ("click_through", "opened"), ("last_seen", "last seen"), ("query", "query")]),
        "",
        "Content gaps: no results (missing articles?)",
        *_gap_lines(report["gaps"]["no_results"]),
        "",
        "Content gaps: results nobody opened (badly titled?)",
        *_gap_lines(report["gaps"]["not_opened"]),
        "",
        "Slowest queries",
        *_table(report["slowest"], [("took_ms", "ms"), ("mean_ms", "mean ms"), ("searches", "searches"), ("query", "query")]),
    ]
    return "\n".join(lines)


def _chart(days: list[dict[str, Any]]) -> list[str]:
    most = max((day["searches"] for day in days), default=0)
    return [f"  {day['date']}  {day['searches']:>6}  {'#' * (round(BAR_WIDTH * day['searches'] / most) if most else 0)}"
            for day in days]


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    cells = [[_cell(key, row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(heading), *(len(line[number]) for line in cells)) for number, (_, heading) in enumerate(columns)]
    out = ["  " + "  ".join(heading.ljust(width) for (_, heading), width in zip(columns, widths)).rstrip()]
    out += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]
    return out


def _gap_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    out = []
    for row in rows:
        out.append(f"  {row['searches']:>4}x  {row['query']}  (last {row['last_seen']}, {row['results']} results)")
        for near in row["nearest"]:
            out.append(f"          nearest: {near['title']}  {near['url']}  ({near['similarity']:.2f})")
        if not row["nearest"]:
            out.append("          nearest: (none found)")
    return out


def _cell(key: str, value: Any) -> str:
    if key == "click_through":
        return _percent(value)
    return "-" if value is None else str(value)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"
