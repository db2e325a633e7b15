"""The passage of an answer that answers the query: a sentence, or a short paragraph kept whole.

An answer's passages are its blocks, or their sentences (:mod:`indexer.corpus.blocks`).
Each passage is scored by the query's words it holds (weighted by
rarity) and, where the index ranks by meaning, by its similarity to the query
(the fitted query encoder embeds any text in a fraction of a millisecond, so
passages are read at query time; the index keeps only their word pieces, cut at
build time: :mod:`indexer.semantic.pieces`).
"""

from __future__ import annotations

import bisect
import functools
import html
import math
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import urlencode

from indexer.corpus.blocks import AnswerParts, Passage, PassagePieces
from indexer.index.held import HeldSearcher
from indexer.search.generation import PassageVectors
from indexer.search.highlight import Highlighter
from indexer.search.results import Hit
from indexer.semantic.vectors import SemanticQuery

__all__ = ["PassageReader", "ScoredPassage", "best_passage", "word_scores", "meaning_candidates", "answers_confidently", "CONFIDENT_ANSWER"]

#: How sure the best passage of the first result must be for the results page to open with it:
#: its share of the query's weight (words by rarity) in [0, 1] and, with meaning, its cosine to
#: the query, mixed half and half. By words alone a one-word query never gets the box (a passage
#: holding "blue" says nothing of why the sky is). On SciFact's train claims (the first result's
#: passage; "right" = an abstract the claim cites, "evidence" = and the passage holds an evidence
#: sentence): 0.60 shows the box for 54% of claims, 88.2% right, 42.6% evidence; 0.55 for 68%,
#: 86.7% right, 40.9% evidence; 0.50 for 80%, 86.4%, 38.5%. The fitted query encoder's cosines
#: run low for questions in plain words (0.36 for a sentence that says what was asked, where
#: the model says 0.56), so 0.55: a little less sure, and far more questions answered first.
CONFIDENT_ANSWER = 0.55
#: How much of a passage's score is its similarity of meaning, when the index has vectors.
MEANING_SHARE = 0.5
#: How many of an answer's passages (the best by words) are read for their meaning.
MEANING_CANDIDATES = 3
#: The fields whose documents decide how rare (so how telling) a query word is.
RARITY_FIELDS = ("title", "question", "answer", "keyword_text")
#: How many of a page's results have their passage read by meaning as well as by words.
PASSAGES_BY_MEANING = 3



@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float  # in [0, 1]: how well it answers, by words and (with vectors) by meaning
    html: str  # escaped, the query's words in <mark>


def best_passage(
    passages: Sequence[Passage],
    highlighter: Highlighter,
    weight_of: Callable[[str], float],
    similarity: Callable[[list[str]], Sequence[float]] | None = None,
    words: Sequence[float] | None = None,
    found_in: Callable[[int], list[tuple[int, int, frozenset[str]]]] | None = None,
) -> ScoredPassage | None:
    """The passage that best answers the query, or None for an empty answer.

    :param weight_of: a query term's weight (its idf); a passage's word score is
        the weight of the distinct query terms it holds over the query's total.
    :param similarity: the cosine of the query with each text, when ranking by meaning.
    :param words: the passages' :func:`word_scores`, if already known.
    :param found_in: a passage's (index's) :meth:`Highlighter.matches`, if already known.
    """
    if not passages:
        return None
    words = words if words is not None else word_scores(passages, highlighter, weight_of)
    if similarity is not None:
        # Meaning is read for the passages best by words only: the rest rarely win, and cost time.
        read = meaning_candidates(words)
        meanings = dict(zip(read, similarity([passages[index].text for index in read])))
        scores = [(1 - MEANING_SHARE) * word + MEANING_SHARE * max(0.0, meanings.get(index, 0.0)) for index, word in enumerate(words)]
    else:
        scores = list(words)
    best = max(range(len(passages)), key=lambda index: (scores[index], -index))
    chosen = passages[best]
    if not highlighter.terms:
        return ScoredPassage(chosen, scores[best], html.escape(chosen.text))
    return ScoredPassage(chosen, scores[best], highlighter.mark(chosen.text, found_in(best) if found_in is not None else None))


def word_scores(
    passages: Sequence[Passage], highlighter: Highlighter, weight_of: Callable[[str], float],
    places: Sequence[tuple[int, int]] | None = None, found: Sequence[tuple[int, int, frozenset[str]]] | None = None,
) -> list[float]:
    """Each passage's share, in [0, 1], of the query's weight in the terms it holds.

    :param places: where each passage is in its answer's plain text, and ``found``
        that text's :meth:`Highlighter.matches`: then each passage's terms are those
        matches (one reading of the answer), else each passage is read on its own.
    """
    # (math.fsum: the same sum in whatever order a set gives the terms, in every process)
    total = math.fsum(weight_of(term) for term in highlighter.terms) or 1.0
    # (the query's terms each passage holds, found as the highlighter finds them: a passage's
    # score counts the words it will show marked, and only likely words are analysed)
    if places is None or found is None:
        held = [frozenset().union(*(hit for _, _, hit in highlighter.matches(passage.text))) for passage in passages]
        return [min(1.0, math.fsum(weight_of(term) for term in terms) / total) if terms else 0.0 for terms in held]
    # Each match to the passage it starts in (passages are in order and apart): the work is per
    # match, not per passage, and most of an answer's thirty passages hold none.
    starts = [start for start, _ in places]
    held_by: dict[int, set[str]] = {}
    for start, _, hit in found:
        index = bisect.bisect_right(starts, start) - 1
        if index >= 0 and start < places[index][1]:
            held_by.setdefault(index, set()).update(hit)
    scores = [0.0] * len(places)
    for index, terms in held_by.items():
        scores[index] = min(1.0, math.fsum(weight_of(term) for term in terms) / total)
    return scores


def meaning_candidates(words: Sequence[float]) -> list[int]:
    """Which passages (indexes) are read by meaning: the best :data:`MEANING_CANDIDATES` by words."""
    return sorted(range(len(words)), key=lambda index: (-words[index], index))[:MEANING_CANDIDATES]


def idf_weight(doc_frequency: Callable[[str], int], documents: int) -> Callable[[str], float]:
    """A term's weight: its BM25 idf over the index (at least a little, for terms in every article)."""
    def weight(term: str) -> float:
        frequency = doc_frequency(term)
        return max(0.05, math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5)))

    return weight


@dataclass
class _Answer:
    """What one search has read of one answer."""

    parts: AnswerParts  # (kept: the reader finds it by its id, which must stay its own)
    matches: list[tuple[int, int, frozenset[str]]]
    words: list[float] | None = None  # its passages' word scores, once asked


class PassageReader:
    """Chooses each result's answering passage for one search (see :mod:`indexer.search.passages`).

    The first :data:`PASSAGES_BY_MEANING` results of a page are read by words and by meaning
    (the first decides the answer box); the rest by words: reading every result's passages
    by meaning doubled a search's time (NFCorpus dev, 2.1x words alone against 1.2x).
    """

    def __init__(self, held: HeldSearcher, highlighter: Highlighter, query: str, semantic: SemanticQuery | None) -> None:
        searcher = held.searcher
        self.highlighter = highlighter
        self.query = query
        # Rarity over every text field, not the answers alone: "what" is rare in answers but in nearly
        # every question and title, and must not outweigh the words that say what is asked.
        self.weight_of = functools.cache(idf_weight(
            lambda term: held.most_documents(term, RARITY_FIELDS), searcher.doc_count()
        ))
        # (a flag, not ``self._meaning`` kept on self: that bound method would make the reader a
        # reference cycle, and each search's passages garbage for the cycle collector to find)
        self.by_meaning = semantic is not None and semantic.embed_texts is not None
        self.read_count = 0
        self._semantic = semantic
        self._cosines: dict[str, float] = {}  # passage text -> cosine with the query, this search
        self._answers: dict[int, _Answer] = {}  # id(an answer's parts) -> what this search read of it

    def _meaning(self, texts: list[str], pieces: Sequence[tuple[PassagePieces, int] | None] | None = None) -> list[float]:
        """The query's cosine with each text (those read ahead are not encoded again).

        :param pieces: for each text, its word pieces where the listing keeps them
            (a :class:`PassagePieces` and the passage's index in it), so it is not cut again.
        """
        import numpy as np

        assert self._semantic is not None and self._semantic.embed_texts is not None
        wanted = [(text, cut) for text, cut in zip(texts, pieces or [None] * len(texts)) if text not in self._cosines]
        if wanted:
            missing = [text for text, _ in wanted]
            embed = self._semantic.embed_texts
            vectors = embed.with_pieces(missing, [cut for _, cut in wanted]) if isinstance(embed, PassageVectors) else embed(missing)
            # (row by row, not one matrix product: BLAS would round a text's cosine differently
            # with other texts beside it, and a passage's score would hang on the rest of the page)
            cosines = (vectors * self._semantic.vector).sum(axis=1, dtype=np.float64)
            self._cosines.update(zip(missing, cosines.tolist()))
        return [self._cosines[text] for text in texts]

    def read_ahead(self, answers: list[AnswerParts]) -> None:
        """Read by meaning, in one batch, the passages that the next results will weigh.

        The first :data:`PASSAGES_BY_MEANING` results each had their few candidates
        encoded on their own; one batch for all costs one pass instead of three.
        """
        if not self.by_meaning:
            return
        texts: list[str] = []
        pieces: list[tuple[PassagePieces, int] | None] = []
        for parts in answers[: max(0, PASSAGES_BY_MEANING - self.read_count)]:
            for index in meaning_candidates(self._word_scores_of(parts)):
                texts.append(parts.passages[index].text)
                pieces.append((parts.pieces, index) if parts.pieces is not None else None)
        if texts:
            self._meaning(texts, pieces)

    def matches(self, parts: AnswerParts) -> list[tuple[int, int, frozenset[str]]]:
        """The query's matches in an answer's plain text (:meth:`Highlighter.matches`), read once a search."""
        return self._answer(parts).matches

    def _word_scores_of(self, parts: AnswerParts) -> list[float]:
        answer = self._answer(parts)
        if answer.words is None:
            answer.words = word_scores(parts.passages, self.highlighter, self.weight_of, parts.places, answer.matches)
        return answer.words

    def _answer(self, parts: AnswerParts) -> "_Answer":
        found = self._answers.get(id(parts))
        if found is None:
            found = self._answers[id(parts)] = _Answer(parts, self.highlighter.matches(parts.plain))
        return found

    def best(self, parts: AnswerParts) -> ScoredPassage | None:
        """The best passage of one answer (its parts); the first few results' by meaning too."""
        self.read_count += 1
        similarity = self._meaning if self.by_meaning and self.read_count <= PASSAGES_BY_MEANING else None
        return best_passage(parts.passages, self.highlighter, self.weight_of, similarity, self._word_scores_of(parts), self._found_in(parts))

    def _found_in(self, parts: AnswerParts) -> Callable[[int], list[tuple[int, int, frozenset[str]]]] | None:
        """A passage's (index's) matches, taken from its answer's (None if the passages are not placed)."""
        places = parts.places
        if places is None:
            return None
        found = self.matches(parts)
        starts = [start for start, _, _ in found]

        def inside(index: int) -> list[tuple[int, int, frozenset[str]]]:
            start, end = places[index]
            return [(a - start, b - start, hit) for a, b, hit in found[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]]

        return inside

    def read(self, parts: AnswerParts, url: str) -> tuple[str, str, float]:
        """The passage's marked HTML, its url, and its score."""
        best = self.best(parts)
        if best is None:
            return "", url, 0.0
        query = f"?{urlencode({'q': self.query})}" if self.query else ""
        return best.html, f"{url}{query}#passage-{best.passage.block}", best.score


def answers_confidently(first: Hit, reader: PassageReader, highlighter: Highlighter) -> bool:
    """Whether the first result's passage answers confidently enough to open the page with it."""
    return first.passage_score >= CONFIDENT_ANSWER and (reader.by_meaning or len(highlighter.terms) >= 2)
