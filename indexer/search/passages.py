"""The passage of an answer that answers the query: a sentence, or a short paragraph kept whole.

An answer is cut into blocks as Markdown writes them (paragraphs, list items,
headings), the same blocks the article page gives an ``id`` (``passage-N``), so
a result can link to the paragraph that holds its passage. A block of up to
:data:`WHOLE_BLOCK_WORDS` words is one passage; a longer one is cut into its
sentences. Each passage is scored by the query's words it holds (weighted by
rarity) and, where the index ranks by meaning, by its similarity to the query
(the fitted query encoder embeds any text in a fraction of a millisecond, so
passages are read at query time and nothing is stored for them).
"""

from __future__ import annotations

import functools
import html
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence
from urllib.parse import urlencode

from indexer.corpus.rendering import plain_text
from indexer.index.held import HeldSearcher
from indexer.search.highlight import Highlighter
from indexer.search.results import Hit
from indexer.semantic.vectors import SemanticQuery

__all__ = [
    "Passage", "AnswerParts", "PassageReader", "answer_blocks", "passages_of", "answer_parts", "best_passage", "word_scores",
    "meaning_candidates", "answers_confidently",
    "WHOLE_BLOCK_WORDS", "CONFIDENT_ANSWER",
]

#: A block this short is read whole; a longer one sentence by sentence.
WHOLE_BLOCK_WORDS = 45
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

_BLOCK_BREAK = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Passage:
    block: int  # which block of the answer (1-based, as the page's passage-N ids)
    text: str


def answer_blocks(markdown: str) -> list[str]:
    """The answer's blocks in order, as plain text: paragraphs, list items and headings."""
    blocks: list[str] = []
    for paragraph in _BLOCK_BREAK.split(markdown.strip()):
        current: list[str] = []
        # As Python-Markdown reads it: a list starts only at a paragraph's first line
        # (marker lines after ordinary text continue that text); '#' headings stand alone.
        listing = bool(_LIST_ITEM.match(paragraph.lstrip("\n")))
        for line in paragraph.split("\n"):
            if (listing and _LIST_ITEM.match(line)) or _HEADING.match(line):
                if current:
                    blocks.append(" ".join(current))
                current = [line]
                if _HEADING.match(line):
                    blocks.append(line)
                    current = []
            else:
                current.append(line)
        if current:
            blocks.append(" ".join(current))
    texts = [_plain_block(block) for block in blocks]
    return [text for text in texts if text]


#: What plain_text's rules need to see to change a line: without any of these, and with no
#: list or heading mark at its start, a line's plain text is the line with its spacing tidied.
_MARKUP = re.compile(r"[<\[*_`~&]")
_LINE_START_MARK = re.compile(r"\s{0,3}(?:#{1,6}\s|>|[-*+]\s|\d{1,9}[.)]\s)")


def _plain_block(block: str) -> str:
    """One block (a single line) as plain text, words separated by single spaces.

    Most blocks are prose with no Markdown in them: they skip plain_text's seven
    regular expressions (a results page splits ten answers into their blocks).
    """
    if _MARKUP.search(block) or _LINE_START_MARK.match(block):
        block = plain_text(block)
    return " ".join(block.split())


def passages_of(markdown: str) -> list[Passage]:
    """Every passage of an answer, in order."""
    return _passages_in(answer_blocks(markdown))


def _passages_in(blocks: list[str]) -> list[Passage]:
    found: list[Passage] = []
    for number, block in enumerate(blocks, start=1):
        if len(block.split()) <= WHOLE_BLOCK_WORDS:
            found.append(Passage(number, block))
        else:
            found.extend(Passage(number, sentence) for sentence in _SENTENCE_END.split(block) if sentence.strip())
    return found


@dataclass(frozen=True)
class AnswerParts:
    """What a results page reads from one answer, whatever the query: worth keeping per generation."""

    plain: str  # the whole answer as plain text (for the keyword snippet)
    passages: tuple[Passage, ...]


def answer_parts(markdown: str) -> AnswerParts:
    """Split an answer once: its plain text and its passages.

    The plain text is the blocks' text a line each: what plain_text gives but for
    spacing (a paragraph's line breaks, and Unicode spaces, become plain spaces), for
    half the cost of reading the answer twice.
    """
    blocks = answer_blocks(markdown)
    return AnswerParts("\n".join(blocks), tuple(_passages_in(blocks)))


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
) -> ScoredPassage | None:
    """The passage that best answers the query, or None for an empty answer.

    :param weight_of: a query term's weight (its idf); a passage's word score is
        the weight of the distinct query terms it holds over the query's total.
    :param similarity: the cosine of the query with each text, when ranking by meaning.
    :param words: the passages' :func:`word_scores`, if already known.
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
    return ScoredPassage(chosen, scores[best], highlighter.mark(chosen.text) if highlighter.terms else html.escape(chosen.text))


def word_scores(passages: Sequence[Passage], highlighter: Highlighter, weight_of: Callable[[str], float]) -> list[float]:
    """Each passage's share, in [0, 1], of the query's weight in the terms it holds."""
    # (math.fsum: the same sum in whatever order a set gives the terms, in every process)
    total = math.fsum(weight_of(term) for term in highlighter.terms) or 1.0
    # (the query's terms each passage holds, found as the highlighter finds them: a passage's
    # score counts the words it will show marked, and only likely words are analysed)
    return [min(1.0, math.fsum(weight_of(term) for term in highlighter.terms_in(passage.text)) / total) for passage in passages]


def meaning_candidates(words: Sequence[float]) -> list[int]:
    """Which passages (indexes) are read by meaning: the best :data:`MEANING_CANDIDATES` by words."""
    return sorted(range(len(words)), key=lambda index: (-words[index], index))[:MEANING_CANDIDATES]


def idf_weight(doc_frequency: Callable[[str], int], documents: int) -> Callable[[str], float]:
    """A term's weight: its BM25 idf over the index (at least a little, for terms in every article)."""
    def weight(term: str) -> float:
        frequency = doc_frequency(term)
        return max(0.05, math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5)))

    return weight


def block_ids(fragment: str, blocks: Iterable[str]) -> str:
    """Give each block element of a rendered answer the ``id`` its passages link to.

    ``fragment`` is the answer's sanitised HTML; ``blocks`` its
    :func:`answer_blocks`. Elements are matched to blocks in order by their
    text, so a block the two readings cut differently gets no id, and its
    link lands at the top of the answer instead of at the wrong paragraph.
    """
    wanted = [_words(block) for block in blocks]
    out: list[str] = []
    position, number = 0, 0
    for match in _BLOCK_ELEMENT.finditer(fragment):
        text = _words(html.unescape(_INNER_TAG.sub(" ", match.group("inner"))))
        for candidate in range(number, min(number + 3, len(wanted))):
            if wanted[candidate] and wanted[candidate] == text:
                out.append(fragment[position : match.start()])
                out.append(f'<{match.group("tag")} id="passage-{candidate + 1}"{match.group("attrs")}>{match.group("inner")}</{match.group("tag")}>')
                position, number = match.end(), candidate + 1
                break
    out.append(fragment[position:])
    return "".join(out)


_BLOCK_ELEMENT = re.compile(
    r"<(?P<tag>p|li|h[2-6])(?P<attrs>(?:\s[^>]*)?)>(?P<inner>(?:(?!<(?:p|li|ul|ol|h[2-6])[\s>]).)*?)</(?P=tag)>", re.DOTALL
)
_INNER_TAG = re.compile(r"<[^>]*>")


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class PassageReader:
    """Chooses each result's answering passage for one search (see :mod:`indexer.search.passages`).

    The first :data:`PASSAGES_BY_MEANING` results of a page are read by words and by meaning
    (the first decides the answer box); the rest by words: reading every result's passages
    by meaning doubled a search's time (NFCorpus dev, 2.1x words alone against 1.2x).
    """

    def __init__(
        self, held: HeldSearcher, highlighter: Highlighter, query: str, semantic: SemanticQuery | None,
        parts_of: Callable[[str], AnswerParts] = answer_parts,
    ) -> None:
        """:param parts_of: an answer's parts (the generation's remembered ones)."""
        searcher = held.searcher
        self.parts_of = parts_of
        self.highlighter = highlighter
        self.query = query
        # Rarity over every text field, not the answers alone: "what" is rare in answers but in nearly
        # every question and title, and must not outweigh the words that say what is asked.
        self.weight_of = functools.cache(idf_weight(
            lambda term: max(held.doc_frequency(field, term) for field in RARITY_FIELDS), searcher.doc_count()
        ))
        self.similarity: Callable[[list[str]], list[float]] | None = None
        self.read_count = 0
        self._semantic = semantic
        self._cosines: dict[str, float] = {}  # passage text -> cosine with the query, this search
        self._words: dict[str, list[float]] = {}  # answer -> its passages' word scores, this search
        if semantic is not None and semantic.embed_texts is not None:
            self.similarity = self._meaning

    def _meaning(self, texts: list[str]) -> list[float]:
        """The query's cosine with each text (those read ahead are not encoded again)."""
        import numpy as np

        assert self._semantic is not None and self._semantic.embed_texts is not None
        missing = [text for text in texts if text not in self._cosines]
        if missing:
            # (row by row, not one matrix product: BLAS would round a text's cosine differently
            # with other texts beside it, and a passage's score would hang on the rest of the page)
            cosines = (self._semantic.embed_texts(missing) * self._semantic.vector).sum(axis=1, dtype=np.float64)
            self._cosines.update(zip(missing, cosines.tolist()))
        return [self._cosines[text] for text in texts]

    def read_ahead(self, answers: list[str]) -> None:
        """Read by meaning, in one batch, the passages that the next results will weigh.

        The first :data:`PASSAGES_BY_MEANING` results each had their few candidates
        encoded on their own; one batch for all costs one pass instead of three.
        """
        if self.similarity is None:
            return
        texts: list[str] = []
        for answer in answers[: max(0, PASSAGES_BY_MEANING - self.read_count)]:
            passages = self.parts_of(answer).passages
            words = self._word_scores_of(answer)
            texts.extend(passages[index].text for index in meaning_candidates(words))
        if texts:
            self._meaning(texts)

    def _word_scores_of(self, answer: str) -> list[float]:
        found = self._words.get(answer)
        if found is None:
            found = self._words[answer] = word_scores(self.parts_of(answer).passages, self.highlighter, self.weight_of)
        return found

    def best(self, answer: str) -> ScoredPassage | None:
        self.read_count += 1
        similarity = self.similarity if self.read_count <= PASSAGES_BY_MEANING else None
        parts = self.parts_of(answer)
        return best_passage(parts.passages, self.highlighter, self.weight_of, similarity, self._word_scores_of(answer))

    def read(self, answer: str, url: str) -> tuple[str, str, float]:
        """The passage's marked HTML, its url, and its score."""
        best = self.best(answer)
        if best is None:
            return "", url, 0.0
        query = f"?{urlencode({'q': self.query})}" if self.query else ""
        return best.html, f"{url}{query}#passage-{best.passage.block}", best.score


def answers_confidently(first: Hit, reader: PassageReader, highlighter: Highlighter) -> bool:
    """Whether the first result's passage answers confidently enough to open the page with it."""
    by_meaning = reader.similarity is not None
    return first.passage_score >= CONFIDENT_ANSWER and (by_meaning or len(highlighter.terms) >= 2)
