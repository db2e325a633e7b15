"""The searches-per-day chart of ``/admin/insights``, drawn on the server as SVG geometry.

The template turns these numbers into ``<rect>`` elements: no script, no
inline style (the site's CSP allows neither), colours from the stylesheet.
"""

from __future__ import annotations

from typing import Any

__all__ = ["day_chart", "WIDTH", "HEIGHT"]

WIDTH = 600
HEIGHT = 140
TOP = 10  # room above the tallest bar
BOTTOM = 2  # the axis line (the dates are text below the chart)


def day_chart(per_day: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars for ``[{"date", "searches"}]``: x, y, width, height, and the label each bar's title gives."""
    most = max((day["searches"] for day in per_day), default=0)
    slot = WIDTH / max(len(per_day), 1)
    room = HEIGHT - TOP - BOTTOM
    bars = []
    for number, day in enumerate(per_day):
        height = round(room * day["searches"] / most, 1) if most else 0.0
        bars.append({
            "x": round(number * slot + slot * 0.1, 1), "y": round(TOP + room - height, 1),
            "width": round(slot * 0.8, 1), "height": height,
            "label": f"{day['date']}: {day['searches']} search{'' if day['searches'] == 1 else 'es'}",
        })
    return {
        "width": WIDTH, "height": HEIGHT, "bars": bars, "most": most, "baseline": HEIGHT - BOTTOM,
        "first": per_day[0]["date"] if per_day else "", "last": per_day[-1]["date"] if per_day else "",
        "total": sum(day["searches"] for day in per_day),
    }
