"""A snippet's window and a passage's words, from one reading of the answer.

The snippet's window is chosen in one pass over the matches, and each passage's
words are the whole answer's matches that fall in it; both must be what the
rules say when applied the slow way.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.corpus.blocks import answer_parts
from indexer.search.highlight import Highlighter, _best_window
from indexer.search.passages import word_scores

WORDS = ["heat", "heated", "entropy", "energy", "the", "of", "system", "systems", "Heat.", "cold", "a"]
TEXTS = st.lists(st.sampled_from(WORDS + [".", "\n\n", "1. ", "**"]), max_size=120).map(" ".join)
QUERIES = st.lists(st.sampled_from(["heat", "entropi", "system", "energi", "cold"]), min_size=1, max_size=3)


def best_window_start(spans: list[tuple[int, int, str]], size: int) -> int:
    """The rule, read literally: each match starts a window of the matches ending within ``size``."""
    best_start, best_score = 0, -1.0
    for i, (start, _, _) in enumerate(spans):
        window = [span for span in spans[i:] if span[1] <= start + size]
        score = len({stem for _, _, stem in window}) + 0.1 * len(window)
        if score > best_score:
            best_start, best_score = start, score
    return best_start


@settings(max_examples=300)
@given(TEXTS, QUERIES, st.integers(10, 300))
def test_the_one_pass_window_is_the_rules(text: str, terms: list[str], size: int) -> None:
    spans = Highlighter(terms)._spans(text)
    assert _best_window(spans, size) == best_window_start(spans, size)


@settings(max_examples=300)
@given(TEXTS, QUERIES)
def test_passage_words_from_the_answers_matches_are_each_passages_own(markdown: str, terms: list[str]) -> None:
    parts = answer_parts(markdown)
    highlighter = Highlighter(terms)
    weight = {"heat": 1.0, "entropi": 2.5, "system": 0.5, "energi": 1.5, "cold": 3.0}.get
    alone = word_scores(parts.passages, highlighter, lambda term: weight(term) or 1.0)
    together = word_scores(parts.passages, highlighter, lambda term: weight(term) or 1.0, parts.places, highlighter.matches(parts.plain))
    assert parts.places is not None
    assert together == alone


PIECES = st.sampled_from(["heat", "Heat", "HEATED", "preheat", "entropy", "Entrop", "don't", "e.g.", "sys.tem", "system_s",
                          "systems", "x1heat", "_heat", "energi", "cold", "colder", "9system", "e.g.gas", "e.gas"])
SEPARATORS = st.sampled_from([" ", "  ", ".", ", ", "\n", "'", "-", "(", ""])
ANY_TEXT = st.lists(st.tuples(PIECES, SEPARATORS), max_size=60).map(lambda parts: "".join(word + gap for word, gap in parts))
ANY_TERMS = st.lists(st.sampled_from(["heat", "entropi", "system", "energi", "cold", "e.g", "don't", "t", "he", "g", "gas"]), min_size=1, max_size=4)


@settings(max_examples=500)
@given(ANY_TEXT, ANY_TERMS)
def test_the_candidate_words_are_where_the_regex_finds_them(text: str, terms: list[str]) -> None:
    """ASCII text is searched with str.find (other text with the regex itself): the regex's starts."""
    highlighter = Highlighter(terms)
    assert highlighter._candidates is not None and text.isascii()
    assert highlighter._starts(text) == [candidate.start() for candidate in highlighter._candidates.finditer(text)]
