"""What a search answers: one page of hits, with the facts around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hit", "SearchResults"]


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    title_html: str
    url: str
    subject: str
    snippet_html: str
    score: float
    date: str | None
    matched_terms: tuple[str, ...]
    pinned: bool = False  # listed first because the maintainers pinned it to this query (pins.yaml)
    passage_html: str = ""  # the sentence or short paragraph of the answer that best answers the query
    passage_url: str = ""  # the article, scrolled to that passage's paragraph (and its words marked)
    passage_score: float = 0.0  # how well the passage answers, in [0, 1] (not in the JSON)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "title_html": self.title_html,
            "url": self.url,
            "subject": self.subject,
            "snippet_html": self.snippet_html,
            "score": round(self.score, 4),
            "date": self.date,
            "matched_terms": list(self.matched_terms),
            "pinned": self.pinned,
            "passage_html": self.passage_html,
            "passage_url": self.passage_url,
        }


@dataclass(frozen=True)
class SearchResults:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    suggestion: str | None
    facets: dict[str, int]  # matches per subject, within the year filter
    results: tuple[Hit, ...]
    unmatched: tuple[str, ...] = ()  # words of the query that no article contains
    generation: int = 0
    corrected: str | None = None  # the spelling-corrected query these results are for, if one was needed
    partial: bool = False  # the time limit ran out before every match was scored
    answer: Hit | None = None  # the first result, when its passage answers confidently (page 1 only)
    year_facets: dict[str, int] = field(default_factory=dict)  # matches per year ("2025"), within the subject filter
    #: What each facet's "all" choice gives: {"subject": matches within the year filter, "year": within the subject filter}.
    facet_totals: dict[str, int] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()  # the subject filter (any of these), sorted
    years: tuple[int, ...] = ()  # the year filter (any of these), sorted
    sort: str = "relevance"  # or "newest"

    @property
    def subject(self) -> str | None:
        """The subject filter when it is one subject (for callers that filter by one)."""
        return self.subjects[0] if len(self.subjects) == 1 else None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.per_page else 1

    def as_dict(self) -> dict[str, Any]:
        """The contract's ``/api/search`` shape (plus ``unmatched``)."""
        return {
            "ok": True,
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": round(self.took_ms, 2),
            "suggestion": self.suggestion,
            "facets": {"subject": dict(self.facets), "year": dict(self.year_facets)},
            "results": [hit.as_dict() for hit in self.results],
            "unmatched": list(self.unmatched),
            "generation": self.generation,  # which index generation answered (replicas, rebuilds)
            "corrected": self.corrected,
            "partial": self.partial,
            "answer": None if self.answer is None else {
                "id": self.answer.id, "title": self.answer.title, "url": self.answer.url,
                "passage_html": self.answer.passage_html, "passage_url": self.answer.passage_url,
            },
        }
