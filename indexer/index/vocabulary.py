"""The corpus's words as written, not stemmed: what "did you mean" and completions offer.

Whoosh's ``spelling=True`` keeps such words as extra indexed fields, with a
posting for every document a word occurs in. Spelling help needs only each
word and how many articles use it, so a plain word -> document-count table
does the job: it made the index a quarter smaller and the build about twice as
fast (measured on 2,000 generated articles; see tests/bench/RESULTS.md).

The table lives beside the Whoosh segments in each generation folder, so a
published snapshot carries it. Builds write it; updates add the words of new
and changed articles and take away those of the versions they replace.
"""

from __future__ import annotations

import bisect
import json
from itertools import takewhile
from pathlib import Path
from typing import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from indexer.index.analysis import FoldingTokenizer
from indexer.index.atomic import write_atomically

__all__ = ["VOCABULARY_FILE", "Vocabulary"]

VOCABULARY_FILE = "vocabulary.json"
_FORMAT = 1
#: Bound the words one completion request may look at.
MAX_EXPANSIONS = 500


class Vocabulary:
    """Words and the number of articles that use each."""

    def __init__(self, counts: dict[str, int] | None = None, commit: int = -1) -> None:
        self.counts: dict[str, int] = counts if counts is not None else {}
        #: The Whoosh commit these counts describe (-1: unknown).
        self.commit = commit
        self._sorted: list[str] | None = None
        #: Words by their first letters (prefix length -> head -> words), for :meth:`suggest`.
        self._by_head: dict[int, dict[str, list[str]]] = {}

    # -- counting -------------------------------------------------------------------

    @staticmethod
    def words_of(texts: Iterable[str]) -> set[str]:
        """The distinct words of an article's texts, folded as the index folds them but not stemmed."""
        tokenizer = FoldingTokenizer()
        return {token.text for text in texts for token in tokenizer(text)}

    def add(self, texts: Iterable[str]) -> None:
        """Count one more article with these texts."""
        counts = self.counts
        for word in self.words_of(texts):
            counts[word] = counts.get(word, 0) + 1
        self._sorted, self._by_head = None, {}

    def remove(self, texts: Iterable[str]) -> None:
        """Forget one article with these texts (the version an update replaces or deletes)."""
        counts = self.counts
        for word in self.words_of(texts):
            left = counts.get(word, 0) - 1
            if left > 0:
                counts[word] = left
            else:
                counts.pop(word, None)
        self._sorted, self._by_head = None, {}

    # -- looking up -----------------------------------------------------------------

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def __len__(self) -> int:
        return len(self.counts)

    def frequency(self, word: str) -> int:
        return self.counts.get(word, 0)

    @property
    def sorted_words(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.counts)
        return self._sorted

    def suggest(self, word: str, limit: int = 3, maxdist: int = 2, prefix: int = 1) -> list[str]:
        """Words within ``maxdist`` edits of ``word`` sharing its first ``prefix`` letters:
        nearest first, then the most used.

        Words sharing a head are as many edits apart as their tails, so one C pass of
        rapidfuzz's Levenshtein distance over the words with ``word``'s head finds them (it
        replaced a walk of the sorted words with Whoosh's Levenshtein automaton, which gave
        the same words in 6-11 ms a misspelt word, most of it making the automaton).
        """
        group = self._heads(prefix).get(word[:prefix], []) if len(word) >= prefix else []
        found = process.extract(word, group, scorer=Levenshtein.distance, score_cutoff=maxdist, limit=None)
        counts = self.counts
        ranked = sorted((distance, -counts[candidate], candidate) for candidate, distance, _ in found if candidate != word)
        return [candidate for _, _, candidate in ranked[:limit]]

    def _heads(self, prefix: int) -> dict[str, list[str]]:
        """The words by their first ``prefix`` letters (made once per prefix length and table)."""
        heads = self._by_head.get(prefix)
        if heads is None:
            heads = {}
            for candidate in self.counts:
                if len(candidate) >= prefix:
                    heads.setdefault(candidate[:prefix], []).append(candidate)
            self._by_head[prefix] = heads  # (whole before it is seen: a search in another thread may ask at once)
        return heads

    def starting_with(self, prefix: str) -> list[str]:
        """Words beginning with ``prefix``, the most used first (at most :data:`MAX_EXPANSIONS` looked at)."""
        words = self.sorted_words
        start = bisect.bisect_left(words, prefix)
        matches = list(takewhile(lambda word: word.startswith(prefix), words[start : start + MAX_EXPANSIONS]))
        return sorted(matches, key=lambda word: (-self.counts[word], word))

    # -- storing --------------------------------------------------------------------

    def save(self, folder: Path, commit: int) -> None:
        """Write the table into a generation folder, atomically."""
        self.commit = commit
        data = json.dumps({"format": _FORMAT, "commit": commit, "counts": self.counts}, ensure_ascii=False, separators=(",", ":"))
        write_atomically(folder / VOCABULARY_FILE, data.encode("utf-8"))

    @classmethod
    def load(cls, folder: Path) -> "Vocabulary | None":
        """Read a generation folder's table; None if it has none or it is unreadable."""
        try:
            data = json.loads((folder / VOCABULARY_FILE).read_text("utf-8"))
            if data.get("format") != _FORMAT or not isinstance(data.get("counts"), dict):
                return None
            return cls(data["counts"], int(data["commit"]))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
