"""The results page's facets: each value with its count and the link that adds it to the filter, or takes it away.

A facet's values combine as either (``subject=A&subject=B``), so a link
toggles one value and keeps every other choice: the other facet, the query,
the sort and the page size (see ``search_url`` in :mod:`webapp.pages`).
"""

from __future__ import annotations

from typing import Any, Callable

from indexer import SearchResults

__all__ = ["FACETS", "facet_groups", "chosen_values", "filtered_by"]

#: The facets of the results page: (parameter, heading, the "all" choice's label).
FACETS = [("subject", "Subject", "All subjects"), ("year", "Year", "All years")]


def facet_groups(results: SearchResults, search_url: Callable[..., str]) -> list[dict[str, Any]]:
    """Each facet with its options: (value, count, chosen, the url that toggles it); chosen values are kept even at 0."""
    groups = []
    for name, heading, everything in FACETS:
        counts, chosen = _counts(results, name), chosen_values(results, name)
        values = {**counts, **{value: counts.get(value, 0) for value in chosen}}
        if not values:
            continue
        groups.append({
            "name": name,
            "heading": heading,
            "all": everything,
            "all_count": results.facet_totals.get(name, 0),
            "all_url": search_url(results, **{name: [], "page": 1}),
            "any_chosen": bool(chosen),
            "options": [(value, count, value in chosen, _toggle_url(results, search_url, name, value)) for value, count in values.items()],
        })
    return groups


def chosen_values(results: SearchResults, name: str) -> list[str]:
    """The chosen values of facet ``name``, as they appear in urls."""
    return list(results.subjects) if name == "subject" else [f"{year:04d}" for year in results.years]


def filtered_by(results: SearchResults) -> str:
    """The filters in words, for the summary: "in Medicine or Biology from 2025"."""
    parts = []
    if results.subjects:
        parts.append("in " + " or ".join(results.subjects))
    if results.years:
        parts.append("from " + " or ".join(chosen_values(results, "year")))
    return " ".join(parts)


def _counts(results: SearchResults, name: str) -> dict[str, int]:
    return results.facets if name == "subject" else results.year_facets


def _toggle_url(results: SearchResults, search_url: Callable[..., str], name: str, value: str) -> str:
    """The results url with ``value`` added to facet ``name`` (or removed, if chosen), from page 1."""
    chosen = chosen_values(results, name)
    values = [other for other in chosen if other != value] if value in chosen else sorted([*chosen, value])
    return search_url(results, **{name: values, "page": 1})
