"""The search service: open an index once, answer queries from any thread.

The service orchestrates; its parts keep their own state: the searcher pool
(:mod:`indexer.search.pool`, one searcher per thread), the generation it
searches (:mod:`indexer.search.generation`, shared by threads), the ranking
(:mod:`indexer.search.ranked`) and the results (:mod:`indexer.search.results`).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from whoosh import query as wq

from indexer.corpus.articles import Article
from indexer.index.held import HeldSearcher
from indexer.index.listings import Listing, listing_of
from indexer.index.schema import KEYWORD_BOOST, unpack_article
from indexer.index.store import IndexStore, Pointer
from indexer.search.filters import (
    FilterError,
    Filters,
    Passing,
    check_sort,
    newest_first,
    parse_filters,
)
from indexer.search.generation import Generation
from indexer.search.highlight import Highlighter
from indexer.search.passages import PassageReader, ScoredPassage, answers_confidently
from indexer.search.pool import REFRESH_SECONDS, SearcherPool
from indexer.search.query import ParsedQuery, positive_terms
from indexer.search.ranked import Ranked, rank
from indexer.search.results import Hit, SearchResults
from indexer.search.spelling import Speller
from indexer.semantic.vectors import SemanticQuery

__all__ = ["SearchService", "SearchResults", "Hit", "SearchError", "MAX_PER_PAGE", "MAX_PAGE"]

MAX_PER_PAGE = 50
MAX_PAGE = 1000
#: Seconds one search may score for; past it the results found so far are returned, marked partial.
TIME_LIMIT = 2.0


class SearchError(ValueError):
    """A search request outside the limits; the message says which."""


class SearchService:
    """Search one index folder; safe to share between threads."""

    def __init__(
        self,
        index_dir: Path | str,
        refresh_seconds: float = REFRESH_SECONDS,
        time_limit: float | None = TIME_LIMIT,
        semantic: bool = True,
    ) -> None:
        """:param semantic: fuse in similarity of meaning when the index holds article vectors
        (``index build --semantic``); False ranks by words alone."""
        self.store = IndexStore(index_dir)
        self.semantic = semantic
        self.time_limit = time_limit
        self._pool = SearcherPool(self.store, refresh_seconds)

    @property
    def refresh_seconds(self) -> float:
        """How often, at most, a thread checks whether the index has moved on."""
        return self._pool.refresh_seconds

    @property
    def generation(self) -> int:
        """The index generation this thread's searcher was opened on (-1 before its first search)."""
        return self._pool.pointer_generation

    @property
    def pointer(self) -> Pointer:
        return self._pool.acquire()[1].pointer

    def close(self) -> None:
        """Close every thread's searcher; the next search opens a fresh one."""
        self._pool.close()

    def __enter__(self) -> "SearchService":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- searching ----------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        page: int = 1,
        per_page: int = 10,
        subject: str | Iterable[str] | None = None,
        year: int | str | Iterable[int | str] | None = None,
        sort: str = "relevance",
    ) -> SearchResults:
        """Run a query and return one page of highlighted results.

        :param text: what the user typed; malformed syntax is searched as words.
        :param page: 1-based page number, at most :data:`MAX_PAGE`.
        :param per_page: results per page, 1 to :data:`MAX_PER_PAGE`.
        :param subject: only articles of this subject, or of any of these subjects.
        :param year: only articles dated in this year, or in any of these years (four digits each).
        :param sort: ``"relevance"`` (best first) or ``"newest"`` (by date, undated last, ties by relevance).
        :raises SearchError: a page or page size out of bounds, a year not four digits, another sort.

        Filters combine; each facet's counts respect the other facets' filters, not its own.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise SearchError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if not 1 <= page <= MAX_PAGE:
            raise SearchError(f"page must be between 1 and {MAX_PAGE}")
        try:
            filters, sort = parse_filters(subject, year), check_sort(sort)
        except FilterError as error:
            raise SearchError(str(error)) from None
        started = time.perf_counter()
        held, generation = self._pool.acquire()
        key = (self._pool.pointer_generation, text, page, per_page, filters, sort)
        cached = generation.cached(key)
        if cached is not None:
            return SearchResults(**{**vars(cached), "took_ms": _ms(started)})
        parsed = generation.parse(text)
        results = self._run(held, generation, parsed, page, per_page, filters, sort, started)
        if not results.partial:  # a later try may have the time to finish
            generation.remember(key, results)
        return results

    def ranked_ids(self, text: str, limit: int = 100, *, subject: str | None = None) -> list[int]:
        """Return the ids of the best ``limit`` articles for ``text``, best first.

        The same parsing and ranking as :meth:`search`, without pages, snippets
        or the page-size limit (for evaluation and exports).
        """
        held, generation = self._pool.acquire()
        parsed = generation.parse(text)
        if not positive_terms(parsed.query):
            return []
        keep = parse_filters(subject).keep(held)
        speller = Speller(held, generation.vocabulary())
        ranked, _, _ = self._ranked_or_retried(
            held, generation, parsed, limit, keep, None, speller.unmatched(parsed.words), _suggestion(speller, parsed),
            self._semantic_of(held, generation),
        )
        ids = held.values("article_id")
        return [ids[docnum] for docnum, _, _ in _pinned_first(held, generation, parsed.text, ranked, keep)[0]][:limit]

    def _ranked_or_retried(
        self,
        held: HeldSearcher,
        generation: Generation,
        parsed: ParsedQuery,
        limit: int,
        keep: Passing | None,
        order: Callable[[tuple[int, float]], Any] | None,
        unmatched: list[str],
        suggestion_of: Callable[[], str | None],
        semantic_of: Callable[[str], SemanticQuery | None],
    ) -> tuple[Ranked, ParsedQuery | None, list[str]]:
        """Rank ``parsed``, or its spelling-corrected form where that finds something and the
        query as typed has a word that matched nothing (``unmatched``) or finds nothing.

        Returns the ranking, the corrected query if it was used, and the words that
        matched nothing. :meth:`search` and :meth:`ranked_ids` share this, so the
        ranking the evaluation scores is the one a student sees.
        """
        def corrected() -> tuple[Ranked, ParsedQuery, list[str]] | None:
            suggestion = suggestion_of()
            retry = generation.parse(suggestion) if suggestion else None
            if retry is None or not positive_terms(retry.query):
                return None
            second = self._ranked(held, retry, limit, keep, order, semantic_of)
            return (second, retry, []) if second.total else None
        # The correction first when a word matched nothing, so a query it rescues is ranked once.
        if unmatched and (found := corrected()) is not None:
            return found
        ranked = self._ranked(held, parsed, limit, keep, order, semantic_of)
        if not unmatched and not ranked.total and (found := corrected()) is not None:
            return found
        return ranked, None, unmatched

    def _ranked(
        self, held: HeldSearcher, parsed: ParsedQuery, limit: int, keep: Passing | None,
        order: Callable[[tuple[int, float]], Any] | None, semantic_of: Callable[[str], SemanticQuery | None],
    ) -> Ranked:
        """The one ranking both :meth:`search` and :meth:`ranked_ids` use."""
        return rank(held, _with_keyword_bonus(parsed), limit, keep, self.time_limit, semantic_of(parsed.text), order)

    def _semantic_of(self, held: HeldSearcher, generation: Generation) -> Callable[[str], SemanticQuery | None]:
        """Each text's query by meaning, made once per search (the ranking and the passages share it)."""
        return functools.cache(lambda text: self._semantic(held, generation, text))

    def _semantic(self, held: HeldSearcher, generation: Generation, text: str) -> SemanticQuery | None:
        """The query's similarity to every article, if this index has vectors (and a way to embed queries)."""
        if not self.semantic:
            return None
        layout = generation.semantic_layout(held)
        if layout is None:
            return None
        embed_query = layout.embed_query
        return SemanticQuery(layout.matrix, lambda: embed_query(text), held.searcher, layout.embed_texts)

    def _run(
        self, held: HeldSearcher, generation: Generation, parsed: ParsedQuery, page: int, per_page: int,
        filters: Filters, sort: str, started: float,
    ) -> SearchResults:
        terms = positive_terms(parsed.query)
        if not terms:
            return SearchResults(query=parsed.text, total=0, page=page, per_page=per_page, took_ms=_ms(started),
                                 suggestion=None, facets={}, results=(), subjects=filters.subjects, years=filters.years, sort=sort)
        speller = Speller(held, generation.vocabulary())
        suggestion_of = _suggestion(speller, parsed)
        order = newest_first(held) if sort == "newest" else None
        keep = filters.keep(held)
        semantic_of = self._semantic_of(held, generation)
        ranked, retry, unmatched = self._ranked_or_retried(
            held, generation, parsed, page * per_page, keep, order, speller.unmatched(parsed.words), suggestion_of, semantic_of
        )
        if retry is not None:
            terms = positive_terms(retry.query)
        highlighter = Highlighter(text for _, text in terms)
        listed, unmatched_pins = _pinned_first(held, generation, parsed.text, ranked, keep)
        window = listed[(page - 1) * per_page : page * per_page]
        reader = PassageReader(held, highlighter, parsed.text, semantic_of(parsed.text))
        shown = [_listing(held, generation, docnum) for docnum, _, _ in window]
        reader.read_ahead([listing.parts for listing in shown])
        hits = tuple(_hit(listing, score, highlighter, reader, pinned) for listing, (_, score, pinned) in zip(shown, window))
        subject_counts, year_counts, facet_totals = filters.facets(held, ranked.unfiltered)
        return SearchResults(
            query=parsed.text,
            total=ranked.total + unmatched_pins,
            page=page,
            per_page=per_page,
            took_ms=_ms(started),
            suggestion=None if retry is not None else suggestion_of(),
            facets=subject_counts,
            results=hits,
            year_facets=year_counts,
            facet_totals=facet_totals,
            unmatched=tuple(unmatched),
            generation=self._pool.pointer_generation,
            corrected=retry.text if retry is not None else None,
            partial=ranked.partial,
            answer=hits[0] if page == 1 and hits and answers_confidently(hits[0], reader, highlighter) else None,
            subjects=filters.subjects,
            years=filters.years,
            sort=sort,
        )

    def nearest_ids(self, text: str, count: int = 3) -> list[tuple[int, float]]:
        """The ``count`` articles closest to ``text`` in meaning, as (id, cosine), best first.

        By the index's query encoder and article vectors; an index built by words
        alone answers with its ranking by words (score 0). For reports of what
        searches missed, where the query itself may match nothing.
        """
        held, generation = self._pool.acquire()
        semantic = self._semantic(held, generation, generation.parse(text).text)
        if semantic is None:
            return [(article_id, 0.0) for article_id in self.ranked_ids(text, count)]
        ids = held.values("article_id")
        return [(ids[docnum], round(score, 4)) for docnum, score in semantic.nearest(count).items()]

    def passage(self, text: str, article_id: int) -> ScoredPassage | None:
        """The passage of one article that best answers ``text``, chosen as :meth:`search` chooses it
        (for measuring the choice; a search gives each result's passage)."""
        held, generation = self._pool.acquire()
        parsed = generation.parse(text)
        fields = held.searcher.document(article_id=article_id)
        if not fields:
            return None
        highlighter = Highlighter(term for _, term in positive_terms(parsed.query))
        reader = PassageReader(held, highlighter, parsed.text, self._semantic(held, generation, parsed.text))
        return reader.best(generation.answer_parts(unpack_article(fields)["answer"]))

    # -- articles and completions ------------------------------------------------

    def article(self, *, url: str | None = None, article_id: int | None = None) -> Article | None:
        """Return the indexed article at ``url`` or with ``article_id``, or None."""
        searcher = self._pool.acquire()[0].searcher
        if url is not None:
            fields = searcher.document(url=url)
        elif article_id is not None and 0 <= article_id < 2**64:
            fields = searcher.document(article_id=article_id)
        else:
            return None
        return Article.from_dict(unpack_article(fields)) if fields else None

    def existing_urls(self, urls: list[str]) -> set[str]:
        """Return which of ``urls`` are articles in the index (to link only those)."""
        searcher = self._pool.acquire()[0].searcher
        return {url for url in urls if url and searcher.document_number(url=url) is not None}

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Complete a partial query from titles, keywords and indexed words."""
        held, generation = self._pool.acquire()
        return Speller(held, generation.vocabulary()).complete(prefix, limit)

    def highlighter(self, text: str) -> Highlighter:
        """A highlighter for a query's terms (for marking an article page)."""
        _, generation = self._pool.acquire()
        return Highlighter(term for _, term in positive_terms(generation.parse(text).query))

    def stats(self) -> dict[str, Any]:
        held, generation = self._pool.acquire()
        pointer = generation.pointer
        return {"documents": held.searcher.doc_count(), "generation": pointer.generation, "built_at": pointer.built_at, "updated_at": pointer.updated_at}


def _suggestion(speller: Speller, parsed: ParsedQuery) -> Callable[[], str | None]:
    """The query's spelling suggestion, worked out at most once and only if asked for."""
    return functools.cache(lambda: speller.suggestion(parsed.text, parsed.words))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _with_keyword_bonus(parsed: ParsedQuery) -> wq.Query:
    """Add a bonus for articles with the whole query, two words or more, as one keyword.

    One word matching a one-word keyword is weak evidence (the word is already
    scored in ``keyword_text``); it let "tolerance" rank an article that merely
    lists tolerance among its keywords above the one titled about it.
    """
    if len(parsed.words) < 2 or _has_required(parsed.query) or isinstance(parsed.query, wq.Phrase):
        return parsed.query
    return wq.Or([parsed.query, wq.Term("keywords", " ".join(parsed.words).lower(), boost=KEYWORD_BOOST)])


def _has_required(q: wq.Query) -> bool:
    return isinstance(q, (wq.And, wq.AndNot, wq.AndMaybe, wq.Require))


def _pinned_first(
    held: HeldSearcher, generation: Generation, text: str, ranked: Ranked, keep: Passing | None
) -> tuple[list[tuple[int, float, bool]], int]:
    """The ranking with the articles pinned to this query (pins.yaml) first, in their order.

    Returns (document number, score, pinned) triples, and how many pinned
    articles the query did not match (they are listed and counted all the same).
    A pinned article outside the filters (``keep``) is left out, like any other.
    """
    ids = generation.curation().pinned(text)
    if not ids:
        return [(docnum, score, False) for docnum, score in ranked.hits], 0
    pinned: list[int] = []
    for article_id in ids:
        docnum = held.searcher.document_number(article_id=article_id)
        if docnum is not None and docnum not in pinned and (keep is None or keep(docnum)):
            pinned.append(docnum)
    scores = dict(ranked.hits)
    first = [(docnum, scores.get(docnum, 0.0), True) for docnum in pinned]
    chosen = set(pinned)
    rest = [(docnum, score, False) for docnum, score in ranked.hits if docnum not in chosen]
    return first + rest, sum(docnum not in ranked.unfiltered for docnum in pinned)


def _listing(held: HeldSearcher, generation: Generation, docnum: int) -> Listing:
    """What a result shows of a document: from its segment's listing file, else from its stored fields."""
    found = held.listing(docnum)
    if found is None:
        data = unpack_article(held.searcher.stored_fields(docnum))
        found = listing_of(data, generation.answer_parts(data["answer"]))
    return found


def _hit(shown: Listing, score: float, highlighter: Highlighter, reader: PassageReader, pinned: bool = False) -> Hit:
    """One result, from its article's listing."""
    snippet = highlighter.snippet(shown.parts.plain, found=reader.matches(shown.parts))
    passage_html, passage_url, passage_score = reader.read(shown.parts, shown.url)
    title = shown.title
    in_title = highlighter.matches(title)
    matched = list(dict.fromkeys(highlighter.matched_forms(title, in_title) + list(snippet.matched)))
    return Hit(
        id=shown.id,
        title=title,
        title_html=highlighter.mark(title, in_title),
        url=shown.url,
        subject=shown.subject,
        snippet_html=snippet.html,
        score=float(score or 0.0),
        date=shown.date,
        matched_terms=tuple(matched),
        pinned=pinned,
        passage_html=passage_html,
        passage_url=passage_url,
        passage_score=passage_score,
    )
