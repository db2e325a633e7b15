"""A pasted homework question is searched as a question: every word counts, wherever it stands."""

from __future__ import annotations

from pathlib import Path

from indexer import SearchService
from indexer.search.query import MAX_QUERY_CHARS, MAX_QUERY_TERMS

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
#: Forty common words before the ones that say what the question is about.
PREAMBLE = (
    "please answer the following question for my class as clearly as you can and explain your reasoning "
    "step by step so that a student who has not read the chapter yet could still follow it and learn "
    "something from the answer you give in the end of this"
)


def test_the_words_that_carry_a_long_question_count_wherever_they_stand(sample_index: Path) -> None:
    question = f"{PREAMBLE} why does repeated use of a drug lead to tolerance?"
    assert len(question.split()) > MAX_QUERY_TERMS + 8 and len(question) <= MAX_QUERY_CHARS
    with SearchService(sample_index, semantic=False) as service:
        results = service.search(question)
        assert results.results[0].url == TOLERANCE_URL, [hit.url for hit in results.results[:3]]
        assert "tolerance" in results.results[0].matched_terms
        assert not results.partial
        short = service.search("drug tolerance")
        assert short.results[0].url == TOLERANCE_URL


def test_a_long_question_with_syntax_characters_is_searched_as_words(sample_index: Path) -> None:
    question = f'{PREAMBLE} (drug "tolerance -mechanisms'
    with SearchService(sample_index, semantic=False) as service:
        results = service.search(question)
    assert results.total > 0 and results.results[0].url == TOLERANCE_URL
