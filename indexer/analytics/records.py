"""A settled search and a click on one of its results, as they are stored."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from indexer.corpus.curation import normalise_query
from indexer.search.query import clean

__all__ = ["SearchRecord", "ClickRecord", "new_search_id", "valid_search_id", "valid_tab", "stored_query"]

#: A search id is 16 random bytes in hex; a tab id is whatever random token a browser tab made up.
_SEARCH_ID = re.compile(r"[0-9a-f]{32}")
_TAB = re.compile(r"[0-9A-Za-z_-]{8,64}")


def new_search_id() -> str:
    """A random id for one recorded search: it ties a click to its search and to nothing else."""
    return secrets.token_hex(16)


def valid_search_id(value: str) -> bool:
    return bool(_SEARCH_ID.fullmatch(value))


def valid_tab(value: str) -> bool:
    return bool(_TAB.fullmatch(value))


def stored_query(text: str) -> str:
    """The query as reports group it: cleaned as searches are, then normalised as pins are."""
    return normalise_query(clean(text))


@dataclass(frozen=True)
class SearchRecord:
    """One search as answered (``typing``: a keystroke of a search-as-you-type run)."""

    search_id: str
    query: str  # normalised (:func:`stored_query`)
    source: str  # "page", "api", "widget" or "embed"
    results: int
    page: int = 1
    took_ms: float = 0.0
    subjects: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    sort: str = "relevance"
    corrected: bool = False
    partial: bool = False
    typing: bool = False
    tab: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ClickRecord:
    """A result opened from a search: its 1-based position and its article."""

    search_id: str
    position: int
    article_id: int
    at: float = field(default_factory=time.time)
