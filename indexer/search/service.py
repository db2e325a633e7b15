"""The search service: open an index once, answer queries from any thread.

Whoosh searchers are not thread-safe, so each thread keeps its own. At most
once a second a thread compares the index folder's generation with the one
its searcher was opened on, and opens a fresh searcher when a build or update
has committed since (``Searcher.refresh()`` is avoided: after
``update_document`` it was measured to return old copies as well).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from whoosh import index as whoosh_index, query as wq
from whoosh.searching import Searcher

from indexer.corpus.articles import Article
from indexer.semantic.vectors import VECTORS_FILE, ArticleVectors, DenseMatrix, DenseQuery
from indexer.semantic.model import SemanticUnavailable, load_encoder
from indexer.semantic.query_encoder import QueryEncoder
from indexer.search.held import HeldSearcher, open_held
from indexer.search.highlight import Highlighter
from indexer.search.query import ParsedQuery, QueryParser, positive_terms
from indexer.ranking.bm25f import Ranked, rank
from indexer.corpus.rendering import plain_text
from indexer.index.schema import KEYWORD_BOOST, unpack_article
from indexer.index.store import IndexStore, IndexStoreError, Pointer
from indexer.search.spelling import Speller
from indexer.index.vocabulary import Vocabulary

__all__ = ["SearchService", "SearchResults", "Hit", "SearchError", "MAX_PER_PAGE", "MAX_PAGE"]

log = logging.getLogger(__name__)

MAX_PER_PAGE = 50
MAX_PAGE = 1000
REFRESH_SECONDS = 1.0
#: Seconds one search may score for; past it the results found so far are returned, marked partial.
TIME_LIMIT = 2.0
CACHE_SIZE = 512


class SearchError(ValueError):
    """A search request outside the limits; the message says which."""


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
        }


@dataclass(frozen=True)
class SearchResults:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    suggestion: str | None
    facets: dict[str, int]
    results: tuple[Hit, ...]
    subject: str | None = None
    unmatched: tuple[str, ...] = ()  # words of the query that no article contains
    generation: int = 0
    corrected: str | None = None  # the spelling-corrected query these results are for, if one was needed
    partial: bool = False  # the time limit ran out before every match was scored

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
            "facets": {"subject": dict(self.facets)},
            "results": [hit.as_dict() for hit in self.results],
            "unmatched": list(self.unmatched),
            "generation": self.generation,  # which index generation answered (replicas, rebuilds)
            "corrected": self.corrected,
            "partial": self.partial,
        }


@dataclass
class _Local(threading.local):
    generation: int = -1
    searcher: Searcher | None = None
    held: HeldSearcher | None = None  # ``searcher`` with its files and columns held open
    checked: float = 0.0


@dataclass
class _Shared:
    pointer: Pointer | None = None
    index: whoosh_index.Index | None = None
    parser: QueryParser | None = None
    cache: OrderedDict[tuple[Any, ...], SearchResults] = field(default_factory=OrderedDict)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    vocabulary_of: tuple[str, int] = ("", -1)  # the (folder, generation) it was read for
    dense: DenseMatrix | None = None
    dense_of: tuple[Any, ...] = ()  # (folder, segments, vectors file time) it was laid out for
    embed_query: Callable[[str], Any] | None = None  # query text -> vector, for ``dense``


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
        self.refresh_seconds = refresh_seconds
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._shared = _Shared()
        self._local = _Local()
        # Every open searcher by thread, so close() (or dropping the service)
        # closes their files, and those of threads that have ended are reaped.
        self._open: dict[int, HeldSearcher] = {}
        self._refused = ""  # the last generation folder that failed to open (logged once)
        self._semantic_problem = ""  # why semantic ranking is off for this index (logged once)
        weakref.finalize(self, _close_all, self._open, self._lock)

    # -- opening and refreshing -------------------------------------------------

    def _searcher(self) -> Searcher:
        """This thread's searcher, reopened when the index has a newer generation."""
        local = self._local
        now = time.monotonic()
        if local.searcher is not None and now - local.checked < self.refresh_seconds:
            return local.searcher
        local.checked = now
        pointer = self._current()
        if local.searcher is None or local.generation != pointer.generation:
            old = local.held
            held = self._open_held()
            local.held, local.searcher = held, held.searcher  # it finds matches; ranking.py orders them
            local.generation = pointer.generation
            self._register(held)
            if old is not None:
                old.close()  # only this thread ever used it
        return local.searcher

    def _open_held(self) -> HeldSearcher:
        """Open a searcher on the live generation, following the pointer if its folder went meanwhile."""
        assert self._shared.index is not None
        try:
            return open_held(self._shared.index)
        except OSError:
            # Pruned by two full builds in quick succession: the pointer names a newer folder.
            self._current()
            return open_held(self._shared.index)

    def _held(self) -> HeldSearcher:
        self._searcher()
        assert self._local.held is not None
        return self._local.held

    def _register(self, held: HeldSearcher) -> None:
        alive = {thread.ident for thread in threading.enumerate()}
        with self._lock:
            self._open[threading.get_ident()] = held
            for ident in [ident for ident in self._open if ident not in alive]:
                self._open.pop(ident).close()

    def _current(self) -> Pointer:
        with self._lock:
            shared = self._shared
            pointer = self.store.require_pointer()
            if shared.pointer is None or pointer.dir != shared.pointer.dir or shared.index is None:
                try:
                    index = self.store.open(pointer)
                except IndexStoreError as error:
                    if shared.index is None or shared.pointer is None:
                        raise
                    # A bad or half-copied snapshot: keep serving what we have.
                    if self._refused != pointer.dir:
                        log.warning("not switching to %s: %s", pointer.dir, error)
                        self._refused = pointer.dir
                    return shared.pointer
                shared.index, shared.parser = index, QueryParser(index.schema)
                shared.cache.clear()
            shared.pointer = pointer
            return pointer

    @property
    def generation(self) -> int:
        """The index generation this thread's searcher was opened on (-1 before its first search)."""
        return self._local.generation

    @property
    def pointer(self) -> Pointer:
        self._searcher()
        assert self._shared.pointer is not None
        return self._shared.pointer

    def close(self) -> None:
        """Close every thread's searcher; the next search opens a fresh one."""
        _close_all(self._open, self._lock)
        self._local.searcher = self._local.held = None

    def __enter__(self) -> "SearchService":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- searching ----------------------------------------------------------------

    def search(self, text: str, *, page: int = 1, per_page: int = 10, subject: str | None = None) -> SearchResults:
        """Run a query and return one page of highlighted results.

        :param text: what the user typed; malformed syntax is searched as words.
        :param page: 1-based page number, at most :data:`MAX_PAGE`.
        :param per_page: results per page, 1 to :data:`MAX_PER_PAGE`.
        :param subject: only articles of this subject (facet counts ignore it).
        :raises SearchError: a page or page size out of bounds.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise SearchError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if not 1 <= page <= MAX_PAGE:
            raise SearchError(f"page must be between 1 and {MAX_PAGE}")
        started = time.perf_counter()
        searcher = self._searcher()
        subject = subject or None
        key = (self._local.generation, text, page, per_page, subject)
        cached = self._cache_get(key)
        if cached is not None:
            took = (time.perf_counter() - started) * 1000
            return SearchResults(**{**vars(cached), "took_ms": took})
        assert self._shared.parser is not None
        parsed = self._shared.parser.parse(text)
        results = self._run(searcher, parsed, page, per_page, subject, started)
        if not results.partial:  # a later try may have the time to finish
            self._cache_put(key, results)
        return results

    def ranked_ids(self, text: str, limit: int = 100, *, subject: str | None = None) -> list[int]:
        """Return the ids of the best ``limit`` articles for ``text``, best first.

        The same parsing and ranking as :meth:`search`, without pages, snippets
        or the page-size limit (for evaluation and exports).
        """
        searcher = self._searcher()
        assert self._shared.parser is not None
        parsed = self._shared.parser.parse(text)
        if not positive_terms(parsed.query):
            return []
        filter_q = wq.Term("subject", subject) if subject else None
        speller = Speller(searcher, self._vocabulary())
        ranked, _, _ = self._ranked_or_retried(searcher, parsed, limit, filter_q, speller.unmatched(parsed.words), _suggestion(speller, parsed))
        ids = self._held().values("article_id")
        return [ids[docnum] for docnum, _ in ranked.hits]

    def _ranked_or_retried(
        self,
        searcher: Searcher,
        parsed: ParsedQuery,
        limit: int,
        filter_q: wq.Query | None,
        unmatched: list[str],
        suggestion_of: Callable[[], str | None],
    ) -> tuple[Ranked, ParsedQuery | None, list[str]]:
        """Rank ``parsed``; if a word matched nothing (``unmatched``), rank its spelling-corrected
        form instead when that finds more.

        Returns the ranking, the corrected query if it was used, and the words that
        matched nothing. :meth:`search` and :meth:`ranked_ids` share this, so the
        ranking the evaluation scores is the one a student sees.
        """
        ranked = self._ranked(searcher, parsed, limit, filter_q)
        if not (unmatched or not ranked.total):
            return ranked, None, unmatched
        suggestion = suggestion_of()
        if not suggestion:
            return ranked, None, unmatched
        # Typo tolerance that costs no precision: only when a word matched nothing
        # is the spelling-corrected query tried, and kept only if it finds something.
        assert self._shared.parser is not None
        retry = self._shared.parser.parse(suggestion)
        second = self._ranked(searcher, retry, limit, filter_q) if positive_terms(retry.query) else None
        if second is not None and second.total:
            return second, retry, []
        return ranked, None, unmatched

    def _ranked(self, searcher: Searcher, parsed: ParsedQuery, limit: int, filter_q: wq.Query | None) -> Ranked:
        """The one ranking both :meth:`search` and :meth:`ranked_ids` use."""
        return rank(searcher, _with_keyword_bonus(parsed), limit, filter_q, self.time_limit, self._semantic(searcher, parsed.text))

    def _semantic(self, searcher: Searcher, text: str) -> DenseQuery | None:
        """The query's similarity to every article, if this index has vectors (and a way to embed queries)."""
        if not self.semantic:
            return None
        laid_out = self._dense(searcher)
        if laid_out is None:
            return None
        dense, embed_query = laid_out
        return DenseQuery(dense, lambda: embed_query(text), searcher)

    def _dense(self, searcher: Searcher) -> tuple[DenseMatrix, Callable[[str], Any]] | None:
        """The article vectors laid out for ``searcher``'s documents, made once per index state and shared."""
        with self._lock:
            shared = self._shared
            assert shared.pointer is not None
            folder = self.store.root / shared.pointer.dir
            try:
                stamp = (folder / VECTORS_FILE).stat().st_mtime_ns
            except OSError:
                return None  # built without --semantic
            segments = tuple(reader.segment().segment_id() for reader, _ in searcher.reader().leaf_readers())
            key = (shared.pointer.dir, segments, stamp)
            if shared.dense_of != key:
                laid_out = self._lay_out(folder, self._held())
                shared.dense, shared.embed_query = laid_out if laid_out is not None else (None, None)
                shared.dense_of = key
            if shared.dense is None or shared.embed_query is None:
                return None
            return shared.dense, shared.embed_query

    def _lay_out(self, folder: Path, held: HeldSearcher) -> tuple[DenseMatrix, Callable[[str], Any]] | None:
        try:
            vectors = ArticleVectors.load(folder)
            if vectors is None:
                raise SemanticUnavailable(f"{folder / VECTORS_FILE} is unreadable: rebuild with `index build --semantic`")
            queries = QueryEncoder.load(folder)
            if queries is not None and queries.model == vectors.model:
                embed_query = queries.encode_query  # microseconds, and the model need not be installed
            else:
                # An index built before the query encoder existed: the model embeds each query.
                encoder = load_encoder()
                if vectors.model != encoder.name:
                    raise SemanticUnavailable(f"the index's vectors come from model {vectors.model}, not {encoder.name}: rebuild it")
                embed_query = encoder.encode_query
        except (SemanticUnavailable, ImportError) as problem:  # (ImportError: numpy or tokenizers uninstalled since the build)
            if self._semantic_problem != str(problem):
                log.warning("ranking by words alone: %s", problem)
                self._semantic_problem = str(problem)
            return None
        return DenseMatrix.for_hashes(held.values("content_hash"), vectors), embed_query

    def _run(
        self, searcher: Searcher, parsed: ParsedQuery, page: int, per_page: int, subject: str | None, started: float
    ) -> SearchResults:
        terms = positive_terms(parsed.query)
        if not terms:
            return SearchResults(parsed.text, 0, page, per_page, _ms(started), None, {}, (), subject)
        filter_q = wq.Term("subject", subject) if subject else None
        speller = Speller(searcher, self._vocabulary())
        suggestion_of = _suggestion(speller, parsed)
        ranked, retry, unmatched = self._ranked_or_retried(
            searcher, parsed, page * per_page, filter_q, speller.unmatched(parsed.words), suggestion_of
        )
        corrected = retry.text if retry is not None else None
        suggestion = None if retry is not None else suggestion_of()
        if retry is not None:
            terms = positive_terms(retry.query)
        facets = _subject_counts(self._held().values("subject"), ranked.unfiltered)
        highlighter = Highlighter(text for _, text in terms)
        window = ranked.hits[(page - 1) * per_page : page * per_page]
        hits = tuple(_hit(searcher.stored_fields(docnum), score, highlighter) for docnum, score in window)
        return SearchResults(
            parsed.text, ranked.total, page, per_page, _ms(started), None if corrected else suggestion, facets, hits,
            subject, tuple(unmatched), self._local.generation, corrected, ranked.partial,
        )

    def _cache_get(self, key: tuple[Any, ...]) -> SearchResults | None:
        with self._lock:
            found = self._shared.cache.get(key)
            if found is not None:
                self._shared.cache.move_to_end(key)
            return found

    def _cache_put(self, key: tuple[Any, ...], value: SearchResults) -> None:
        with self._lock:
            cache = self._shared.cache
            cache[key] = value
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)

    # -- articles and completions ------------------------------------------------

    def article(self, *, url: str | None = None, article_id: int | None = None) -> Article | None:
        """Return the indexed article at ``url`` or with ``article_id``, or None."""
        searcher = self._searcher()
        if url is not None:
            fields = searcher.document(url=url)
        elif article_id is not None and 0 <= article_id < 2**64:
            fields = searcher.document(article_id=article_id)
        else:
            return None
        return Article.from_dict(unpack_article(fields)) if fields else None

    def existing_urls(self, urls: list[str]) -> set[str]:
        """Return which of ``urls`` are articles in the index (to link only those)."""
        searcher = self._searcher()
        return {url for url in urls if url and searcher.document_number(url=url) is not None}

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Complete a partial query from titles, keywords and indexed words."""
        return Speller(self._searcher(), self._vocabulary()).complete(prefix, limit)

    def _vocabulary(self) -> Vocabulary:
        """The spelling vocabulary of the newest generation seen, read once and shared by threads."""
        with self._lock:
            shared = self._shared
            assert shared.pointer is not None
            key = (shared.pointer.dir, shared.pointer.generation)
            if shared.vocabulary_of != key:
                found = Vocabulary.load(self.store.root / shared.pointer.dir)
                if found is None:
                    log.warning("index %s has no readable spelling vocabulary; rebuild it for suggestions", shared.pointer.dir)
                shared.vocabulary, shared.vocabulary_of = found or Vocabulary(), key
            return shared.vocabulary

    def highlighter(self, text: str) -> Highlighter:
        """A highlighter for a query's terms (for marking an article page)."""
        self._searcher()
        assert self._shared.parser is not None
        return Highlighter(term for _, term in positive_terms(self._shared.parser.parse(text).query))

    def stats(self) -> dict[str, Any]:
        pointer = self.pointer
        return {"documents": self._searcher().doc_count(), "generation": pointer.generation, "built_at": pointer.built_at, "updated_at": pointer.updated_at}


def _suggestion(speller: Speller, parsed: ParsedQuery) -> Callable[[], str | None]:
    """The query's spelling suggestion, worked out at most once and only if asked for."""
    return functools.cache(lambda: speller.suggestion(parsed.text, parsed.words))


def _close_all(searchers: dict[int, HeldSearcher], lock: threading.Lock) -> None:
    with lock:
        for searcher in searchers.values():
            searcher.close()
        searchers.clear()


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


def _subject_counts(subjects: list[str], docnums: frozenset[int]) -> dict[str, int]:
    """Count the matches per subject (before the subject filter), most first."""
    counts = Counter(map(subjects.__getitem__, docnums))
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _hit(fields: dict[str, Any], score: float, highlighter: Highlighter) -> Hit:
    data = unpack_article(fields)
    snippet = highlighter.snippet(plain_text(data["answer"]))
    title = data["title"]
    matched = list(dict.fromkeys(highlighter.matched_forms(title) + list(snippet.matched)))
    return Hit(
        id=data["id"],
        title=title,
        title_html=highlighter.mark(title),
        url=data["url"],
        subject=data.get("subject", ""),
        snippet_html=snippet.html,
        score=float(score or 0.0),
        date=data.get("date"),
        matched_terms=tuple(matched),
    )
