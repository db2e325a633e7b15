"""Words the index does not know: "did you mean", "no article contains", completions.

Suggestions come from the corpus's unstemmed words (:mod:`indexer.index.vocabulary`),
so a correction is always a real word of the corpus.
"""

from __future__ import annotations

import re
from itertools import islice

from indexer.index.analysis import text_analyzer
from indexer.index.held import HeldSearcher
from indexer.index.vocabulary import Vocabulary
from indexer.search.query import clean

__all__ = ["Speller"]

_TEXT_FIELDS = ("title", "question", "answer", "keyword_text")
#: Bound the work one completion request may cause.
MAX_EXPANSIONS = 500
MIN_WORD_FOR_CORRECTION = 3
#: Longer "words" are not corrected: no real word is that long, and the edit-distance
#: search over the lexicon grows with length (a 500-letter word took 4 s).
MAX_WORD_FOR_CORRECTION = 30


class Speller:
    """Spelling help over one searcher (cheap to create per request)."""

    def __init__(self, held: HeldSearcher, vocabulary: Vocabulary) -> None:
        """Over a held searcher: a word's frequencies come from its postings files."""
        self.held = held
        self.searcher = held.searcher
        self.vocabulary = vocabulary
        self._frequencies: dict[str, int | None] = {}
        self._analyzer = text_analyzer()

    def _frequency(self, word: str) -> int | None:
        """Documents containing ``word`` in any text field; None for a stop word (asked once a word)."""
        if word in self._frequencies:
            return self._frequencies[word]
        found = self._frequencies[word] = self._count(word)
        return found

    def _count(self, word: str) -> int | None:
        stems = [token.text for token in self._analyzer(word)]
        if not stems:
            return None
        return min(self.held.most_documents(stem, _TEXT_FIELDS) for stem in stems)

    def unmatched(self, words: tuple[str, ...]) -> list[str]:
        """Return the query words that no article contains."""
        return [word for word in dict.fromkeys(words) if self._frequency(word) == 0]

    def correct(self, word: str) -> str | None:
        """Return the likeliest real word for a misspelt one, or None."""
        lowered = word.lower()
        if not MIN_WORD_FOR_CORRECTION <= len(lowered) <= MAX_WORD_FOR_CORRECTION or not lowered.isalpha():
            return None
        for candidate in self.vocabulary.suggest(lowered, limit=3, maxdist=2, prefix=1):
            if (self._frequency(candidate) or 0) > 0:
                return candidate
        return None

    def known(self, word: str) -> bool:
        """True when ``word`` itself (not just its stem) occurs in the corpus."""
        return word in self.vocabulary

    def suggestion(self, text: str, words: tuple[str, ...]) -> str | None:
        """Rewrite ``text`` with each word the corpus does not contain corrected."""
        corrected = text
        for word in dict.fromkeys(words):
            lowered = word.lower()
            # (cheapest test first: a word of the corpus needs no index look-up)
            if len(lowered) < MIN_WORD_FOR_CORRECTION or self.known(lowered) or self._frequency(word) is None:
                continue
            better = self.correct(word)
            if better:
                corrected = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", better, corrected)
        return corrected if corrected != text else None

    def complete(self, prefix: str, limit: int = 8) -> list[str]:
        """Complete a partial query: whole titles and keywords first, then the last word."""
        prefix = clean(prefix).lower()
        if not prefix.strip():
            return []
        reader = self.searcher.reader()
        found: dict[str, int] = {}
        for term in map(_text, islice(reader.expand_prefix("completion", prefix), MAX_EXPANSIONS)):
            found[term] = reader.doc_frequency("completion", term)
        ranked = sorted(found, key=lambda term: (-found[term], len(term), term))[:limit]
        if len(ranked) < limit:
            head, _, last = prefix.rpartition(" ")
            if last:
                for word in self.vocabulary.starting_with(last):
                    completion = f"{head} {word}".strip()
                    if completion not in ranked and completion != prefix:
                        ranked.append(completion)
                    if len(ranked) >= limit:
                        break
        return ranked


def _text(term: str | bytes) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term
