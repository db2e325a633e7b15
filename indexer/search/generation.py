"""What every thread shares about one index generation: read once, dropped with it.

A build makes a new generation folder and an update bumps the pointer's
counter; either way searches need the same few things made from the folder:
the open Whoosh index, its query parser, the spelling vocabulary, the article
vectors laid out by document number, and a cache of recent results. They live
here, one object per folder, so a switch replaces them all at once and nothing
outlives the index it was read from.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from whoosh import index as whoosh_index
from whoosh import query as wq

from indexer.corpus.curation import Curation
from indexer.index.curated import load_curation
from indexer.index.held import HeldSearcher
from indexer.index.store import Pointer
from indexer.index.vocabulary import Vocabulary
from indexer.corpus.blocks import AnswerParts, PassagePieces, answer_parts
from indexer.search.query import ParsedQuery, QueryParser, positive_terms
from indexer.search.results import SearchResults
from indexer.semantic.model import SemanticUnavailable, load_encoder
from indexer.semantic.layout import lay_out
from indexer.semantic.neighbours import NeighbourGraph
from indexer.semantic.query_encoder import QueryEncoder
from indexer.semantic.vectors import (
    VECTORS_FILE,
    DenseMatrix,
    VectorTable,
    search_in_one_blas_thread,
)

log = logging.getLogger(__name__)

__all__ = ["Generation", "SemanticLayout", "PassageVectors", "CACHE_SIZE"]

CACHE_SIZE = 512
#: Answers whose parts (plain text, passages, their terms) are remembered per generation: splitting
#: and analysing the shown answers was a third of a search's time. About 30 KB each (mostly the
#: passages' term sets; measured on NFCorpus answers of 1,500 characters), so about 6 MB at most:
#: the answers a site's popular queries show again are what this is for (a new query at 100,000
#: articles rarely shows the same ten, and 500 held 15 MB for few hits).
ANSWER_PARTS = 200
#: Passage vectors remembered per generation (float16 rows: 384 dimensions are 0.75 KB each, so 3 MB).
PASSAGE_VECTORS = 4_000
#: query text -> its vector, in the space of the article vectors.
QueryEmbedder = Callable[[str], Any]


@dataclass(frozen=True)
class SemanticLayout:
    """The article vectors by document number for one set of segments, and how to embed a query."""

    matrix: DenseMatrix
    embed_query: QueryEmbedder
    embed_texts: Callable[[list[str]], Any] | None = None  # many texts at once, where the fitted encoder can


class Generation:
    """One index folder's shared state for searching; safe to share between threads."""

    def __init__(self, folder: Path, pointer: Pointer, index: whoosh_index.Index) -> None:
        self.folder = folder
        self.pointer = pointer
        self.index = index
        self.parser = QueryParser(index.schema)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], SearchResults] = OrderedDict()
        self._vocabulary: Vocabulary | None = None
        self._vocabulary_of = -1  # the pointer generation it was read for
        self._layout: SemanticLayout | None = None
        self._layout_of: tuple[Any, ...] = ()  # (segments, vectors file time) it was laid out for
        self._layout_for: tuple[HeldSearcher, SemanticLayout | None] | None = None  # the last searcher asking, and its answer
        self._semantic_problem = ""  # why ranking by meaning is off here (logged once)
        self._curation: Curation | None = None
        self._curation_of = -1  # the pointer generation it was read for
        self._parts: dict[str, AnswerParts] = {}
        self._read_once: dict[int, dict[tuple[Any, ...], Any]] = {}

    def read_once(self, commit: int) -> dict[tuple[Any, ...], Any]:
        """What the searchers of Whoosh commit ``commit`` read once, shared by every thread.

        Only the newest commit's is kept here; a thread still on an older one keeps its own.
        """
        with self._lock:
            found = self._read_once.get(commit)
            if found is None:
                found = {}
                if not self._read_once or commit > max(self._read_once):
                    self._read_once = {commit: found}
            return found

    def moved_to(self, pointer: Pointer) -> None:
        """Record an update committed into this folder: cached results are stale."""
        with self._lock:
            if pointer.generation != self.pointer.generation:
                self.pointer = pointer
                self._cache.clear()

    # -- results cache ---------------------------------------------------------------

    def cached(self, key: tuple[Any, ...]) -> SearchResults | None:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def remember(self, key: tuple[Any, ...], value: SearchResults) -> None:
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- the maintainers' synonyms and pins --------------------------------------------

    def curation(self) -> Curation:
        """Synonyms and pins as of the newest update (``index update`` copies them in), read once per update."""
        with self._lock:
            if self._curation is None or self._curation_of != self.pointer.generation:
                self._curation, self._curation_of = load_curation(self.folder), self.pointer.generation
            return self._curation

    def parse(self, text: str) -> ParsedQuery:
        """Parse a query, searching each synonym the maintainers listed for its words as well."""
        parsed = self.parser.parse(text)
        curation = self.curation()
        also = curation.also_for(parsed.words) if curation.synonyms else []
        if not also or not positive_terms(parsed.query):
            return parsed
        alternatives = self.parser.parse(" ".join(also)).query
        return ParsedQuery(parsed.text, wq.Or([parsed.query, alternatives]), parsed.words, parsed.plain)

    # -- answers' passages ------------------------------------------------------------

    def answer_parts(self, answer: str) -> AnswerParts:
        """An answer's plain text and passages, split once while this generation is searched.

        Keyed by the answer's text, so an update that changes an article simply misses.
        Bounded by :data:`ANSWER_PARTS`; cleared when full.
        """
        found = self._parts.get(answer)
        if found is None:
            found = answer_parts(answer)
            with self._lock:
                if len(self._parts) >= ANSWER_PARTS:
                    self._parts.clear()
                self._parts[answer] = found
        return found

    # -- spelling --------------------------------------------------------------------

    def vocabulary(self) -> Vocabulary:
        """The spelling vocabulary as of the newest update, read once per update."""
        with self._lock:
            if self._vocabulary is None or self._vocabulary_of != self.pointer.generation:
                found = Vocabulary.load(self.folder)
                if found is None:
                    log.warning("index %s has no readable spelling vocabulary; rebuild it for suggestions", self.folder.name)
                self._vocabulary, self._vocabulary_of = found or Vocabulary(), self.pointer.generation
            return self._vocabulary

    # -- ranking by meaning ----------------------------------------------------------

    def semantic_layout(self, held: HeldSearcher) -> SemanticLayout | None:
        """The article vectors laid out for ``held``'s documents (made once per set of segments), or None.

        Asked once per search: the searcher asked for last gets its answer without a look at
        the folder or the lock. An update writes the vectors before it moves the pointer, and
        every thread opens a new searcher when the pointer moves, so no answer outlives its vectors.
        """
        answered = self._layout_for
        if answered is not None and answered[0] is held:
            return answered[1]
        with self._lock:
            self._layout_for = (held, self._layout_of_held(held))
            return self._layout_for[1]

    def _layout_of_held(self, held: HeldSearcher) -> SemanticLayout | None:
        try:
            stamp = (self.folder / VECTORS_FILE).stat().st_mtime_ns
        except OSError:
            return None  # built by words alone
        segments = tuple(reader.segment().segment_id() for reader, _ in held.searcher.reader().leaf_readers())
        # (The graph of neighbours needs no stamp of its own: an update writes it before the vectors.)
        key = (segments, stamp)
        if self._layout_of != key:
            self._layout = self._lay_out(held)
            self._layout_of = key
        return self._layout

    def _lay_out(self, held: HeldSearcher) -> SemanticLayout | None:
        search_in_one_blas_thread()
        try:
            vectors = VectorTable.load(self.folder)
            if vectors is None:
                raise SemanticUnavailable(f"{self.folder / VECTORS_FILE} is unreadable: rebuild with `index build --semantic`")
            queries = QueryEncoder.load(self.folder)
            embed_query: QueryEmbedder
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
        fast = PassageVectors(queries) if queries is not None and embed_query == queries.encode_query else None
        graph = NeighbourGraph.load(self.folder, searched_only=True)  # (None for a small index, one built before the graph, or one scanned past)
        return SemanticLayout(lay_out(held.values("content_hash", keep=False), vectors, graph), embed_query, fast)


class PassageVectors:
    """Passage vectors by text, kept for this generation: the same articles answer many queries.

    Bounded (:data:`PASSAGE_VECTORS` rows of float16, about 3 MB); cleared when full.
    """

    def __init__(self, encoder: QueryEncoder) -> None:
        self._encoder = encoder
        self._encode = encoder.encode_texts  # (texts alone, cut here: tests/eval/step21 reads them so)
        self._known: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> Any:
        return self.with_pieces(texts, [None] * len(texts))

    def with_pieces(self, texts: list[str], pieces: "Sequence[tuple[PassagePieces, int] | None]") -> Any:
        """The texts' vectors; a text given its word pieces (passage ``index`` of a listing's
        :class:`PassagePieces`) is not cut again, if this encoder's tokenizer cut them."""
        import numpy as np

        with self._lock:
            found = [self._known.get(text) for text in texts]
        missing = [(text, cut) for text, cut, vector in zip(texts, pieces, found) if vector is None]
        if missing:
            encoder = self._encoder
            stored = [cut[0].of(cut[1]) if cut is not None and cut[0].tokenizer == encoder.fingerprint else None for _, cut in missing]
            ids = [kept if kept is not None else encoder.cut(text) for (text, _), kept in zip(missing, stored)]
            fresh = dict(zip((text for text, _ in missing), encoder.encode_pieces(ids).astype(np.float16)))
            with self._lock:
                if len(self._known) + len(fresh) > PASSAGE_VECTORS:
                    self._known.clear()
                self._known.update(fresh)
            found = [vector if vector is not None else fresh[text] for text, vector in zip(texts, found)]
        return np.array(found, dtype=np.float32).reshape(len(texts), -1)
