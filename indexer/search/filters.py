"""Filters, facet counts and the order of results: subject and year, by relevance or newest.

A filter may hold several values: articles of any of them pass (OR within a
facet), and the facets combine (AND across them). Each facet's counts are
taken over the matches that pass the *other* facets' filters only, so a
count says how many results choosing that value would add under the rest of
the selection. Everything here reads the columns the searcher holds open
(``subject``, and ``date`` as Whoosh stores it), never the stored articles.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from whoosh.util.times import long_to_datetime

from indexer.index.held import HeldSearcher
from indexer.ranking.scores import Scores

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Filters", "Passing", "FilterError", "SORTS", "MAX_VALUES", "parse_filters", "check_sort", "newest_first"]

#: The orders a search can have: by relevance (the default), or newest first.
SORTS = ("relevance", "newest")
#: At most this many values per facet in one search.
MAX_VALUES = 20
#: The raw ``date`` column's value for an article without a date (its column default).
NO_DATE = 2**64 - 1
_YEAR = re.compile(r"[0-9]{4}")


class FilterError(ValueError):
    """A filter or sort outside what is allowed; the message says what is."""


@dataclass(frozen=True)
class Filters:
    """The chosen values of each facet (empty: no filter on it), in a canonical order."""

    subjects: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.subjects or self.years)

    def keep(self, held: HeldSearcher) -> "Passing | None":
        """A test of document numbers against every facet, or None when nothing is filtered."""
        if not self:
            return None
        subject_codes, subject_names = held.codes("subject")
        year_codes, years = held.codes("date", year_of)
        return Passing([(codes, passes) for codes, passes in ((subject_codes, _passes(subject_names, self.subjects)),
                                                               (year_codes, _passes(years, self.years))) if passes is not None])

    def facets(self, held: HeldSearcher, matches: Scores) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Count ``matches`` per subject (within the year filter) and per year (within the subject filter).

        Returns the subject counts (most first), the year counts (newest first;
        undated articles have none) and, per facet, how many matches its "all"
        choice gives (every match that passes the other facet's filter). Counted
        as arrays: a common word matches most of a large index.
        """
        import numpy as np

        subject_codes, subject_names = held.codes("subject")
        year_codes, years = held.codes("date", year_of)
        docnums = matches.docs
        subjects_of, years_of = subject_codes[docnums], year_codes[docnums]
        in_years = _passing(years_of, _passes(years, self.years))  # passes the year filter
        in_subjects = _passing(subjects_of, _passes(subject_names, self.subjects))
        subject_counts = np.bincount(subjects_of[in_years], minlength=len(subject_names))
        dated = years_of[in_subjects]
        year_counts = np.bincount(dated[dated >= 0], minlength=len(years))
        totals = {"subject": int(in_years.sum()), "year": int(in_subjects.sum())}
        by_subject = {subject_names[code]: int(count) for code, count in enumerate(subject_counts.tolist()) if count}
        by_year = {years[code]: int(count) for code, count in enumerate(year_counts.tolist()) if count}
        return (
            dict(sorted(by_subject.items(), key=lambda item: (-item[1], item[0]))),
            {f"{year:04d}": count for year, count in sorted(by_year.items(), reverse=True)},
            totals,
        )


class Passing:
    """The documents that pass a search's filters: one at a time, or an array of them at once.

    Each filtered facet is each document's code in its column (:meth:`HeldSearcher.codes`)
    and whether each code passes (:func:`_passes`).
    """

    def __init__(self, facets: "list[tuple[np.ndarray, np.ndarray]]") -> None:
        self._facets = facets

    def __call__(self, docnum: int) -> bool:
        return all(bool(passes[codes[docnum]]) for codes, passes in self._facets)

    def mask(self, docnums: "np.ndarray") -> "np.ndarray":
        """One bool per document number of an array."""
        import numpy as np

        kept = np.ones(len(docnums), dtype=bool)
        for codes, passes in self._facets:
            kept &= passes[codes[docnums]]
        return kept


def _passes(values: list[Any], chosen: Iterable[Any]) -> "np.ndarray | None":
    """Whether each code (an index into ``values``) is chosen, or None when nothing is.

    One entry more, False, for code -1 (no value: an undated article), which indexes the last.
    """
    import numpy as np

    wanted = set(chosen)
    if not wanted:
        return None
    return np.array([value in wanted for value in values] + [False], dtype=bool)


def _passing(codes: "np.ndarray", passes: "np.ndarray | None") -> "np.ndarray":
    """Which of ``codes`` pass (all, when nothing is chosen)."""
    import numpy as np

    return np.ones(len(codes), dtype=bool) if passes is None else passes[codes]


def parse_filters(subject: str | Iterable[str] | None = None, year: int | str | Iterable[int | str] | None = None) -> Filters:
    """Check and normalise the filters of a search; empty values are no filter.

    :param subject: one subject or several (either passes).
    :param year: one year or several, each four digits (``2025`` or ``"2025"``).
    :raises FilterError: a year that is not four digits, or too many values.
    """
    given = {"subject": _values(subject), "year": _values(year)}
    for name, values in given.items():
        if len(values) > MAX_VALUES:
            raise FilterError(f"{name} may be given at most {MAX_VALUES} times in one search")
    subjects = sorted({" ".join(value.split()) for value in given["subject"]} - {""})
    years = sorted({_year(value) for value in given["year"] if value != ""})
    return Filters(tuple(subjects), tuple(years))


def check_sort(sort: str | None) -> str:
    """Return the sort asked for ("relevance" when empty); raise :class:`FilterError` for any other."""
    if not sort:
        return SORTS[0]
    if sort not in SORTS:
        raise FilterError(f"sort must be one of {', '.join(SORTS)}; for example sort=newest")
    return sort


def newest_first(held: HeldSearcher) -> Callable[[tuple[int, float]], Any]:
    """An order for (document number, score) pairs: newest date first, undated last, ties by score."""
    dates = held.values("date")
    # The raw column is a whole number that grows with the date; NO_DATE is the largest.
    return lambda item: (dates[item[0]] == NO_DATE, -dates[item[0]], -item[1], item[0])


@functools.lru_cache(maxsize=4096)
def year_of(raw: int) -> int | None:
    """The year of a raw ``date`` column value, or None for an undated article."""
    if raw == NO_DATE:
        return None
    return long_to_datetime(raw).year


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def _year(value: int | str) -> int:
    text = f"{value:04d}" if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else str(value)
    if not _YEAR.fullmatch(text):
        raise FilterError(f"year must be four digits, such as year=2025 (got {str(value)[:20]!r})")
    return int(text)
