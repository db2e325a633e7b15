""""Did you mean": the words within two edits of a misspelling, found as Whoosh's Levenshtein automaton finds them.

:meth:`Vocabulary.suggest` runs rapidfuzz's distance over the words that share the
misspelling's first letter; the automaton walk it replaced is kept here as the oracle.
"""

from __future__ import annotations

import bisect

from hypothesis import given, settings, strategies as st
from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton

from indexer.index.vocabulary import Vocabulary


def automaton_suggest(vocabulary: Vocabulary, word: str, limit: int = 3, maxdist: int = 2, prefix: int = 1) -> list[str]:
    """The walk of the sorted words with Whoosh's automaton: nearest first, then the most used."""
    words = vocabulary.sorted_words
    found: dict[str, int] = {}
    for distance in range(1, maxdist + 1):
        position = 0

        def next_word_at_or_after(text: str) -> str | None:
            nonlocal position
            position = bisect.bisect_left(words, text, position)
            return words[position] if position < len(words) else None

        for candidate in find_all_matches(levenshtein_automaton(word, distance, prefix).to_dfa(), next_word_at_or_after):
            found.setdefault(candidate, distance)
    found.pop(word, None)
    return sorted(found, key=lambda candidate: (found[candidate], -vocabulary.counts[candidate], candidate))[:limit]


LETTERS = "abcdeé"
words = st.text(alphabet=LETTERS, min_size=1, max_size=7)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(words, st.integers(1, 5), min_size=1, max_size=60), words, st.integers(1, 5))
def test_suggestions_are_the_automatons(counts: dict[str, int], word: str, limit: int) -> None:
    vocabulary = Vocabulary(counts)
    assert vocabulary.suggest(word, limit=limit) == automaton_suggest(vocabulary, word, limit=limit)


def test_nearest_first_then_the_most_used_and_the_first_letter_kept() -> None:
    vocabulary = Vocabulary({"tolerance": 3, "tolerant": 9, "tolerances": 1, "colerance": 50, "tolerence": 1})
    assert vocabulary.suggest("tolerence") == ["tolerance", "tolerances"]  # (never the word itself; "tolerant" is 3 edits)
    assert vocabulary.suggest("toleranse") == ["tolerance", "tolerant", "tolerances"]  # one edit, then two by use, then by letter
    assert "colerance" not in vocabulary.suggest("tolerance", limit=10)  # another first letter
    assert vocabulary.suggest("xyz") == [] and Vocabulary().suggest("tolerance") == []


def test_counting_new_articles_changes_the_suggestions() -> None:
    vocabulary = Vocabulary({"mechanism": 1})
    assert vocabulary.suggest("mechanisn") == ["mechanism"]
    vocabulary.add(["mechanisms of tolerance"])
    vocabulary.add(["mechanisms again"])
    assert vocabulary.suggest("mechanisn") == ["mechanism", "mechanisms"]
    vocabulary.remove(["mechanism"])
    vocabulary.remove(["mechanisms of tolerance"])
    vocabulary.remove(["mechanisms again"])
    assert vocabulary.suggest("mechanisn") == []
