"""A query with no syntax is built directly; it must be exactly the query Whoosh's parser builds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.index.schema import make_schema
from indexer.search.query import _PARSED_SYNTAX, QueryParser

PARSER = QueryParser(make_schema())
PIECES = ["drug", "tolerance", "the", "of", "a", "H2O", "co2", "2024", "naïve", "cafés", "cross-tolerance", "what's",
          "well-being", "x", "Über", "e.g.", "1.5", "mechanisms,", "why?", "it;", "a/b", "x=y", "50%", "#tag", "@me",
          "ünïcödé", "日本語", "don't", "and", "or", "not", "tolerance.", "entropy?", "a:b", "x*", "2^3", "~5", "[1]", "{x}", "\\"]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map(" ".join))
def test_text_without_syntax_parses_as_whoosh_parses_it(text: str) -> None:
    assert not _PARSED_SYNTAX.search(text)
    assert PARSER._parse(text) == PARSER._parser.parse(text)


@settings(max_examples=1000)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_text_without_syntax_parses_as_whoosh_parses_it(text: str) -> None:
    text = " ".join(text.split())
    if not _PARSED_SYNTAX.search(text):
        assert PARSER._parse(text) == PARSER._parser.parse(text)


@settings(max_examples=1000)
@given(st.text(alphabet="ab1 é?:*^~[]{}\\/.,;!'<>=@#$%&|_`", max_size=40))
def test_punctuation_without_syntax_parses_as_whoosh_parses_it(text: str) -> None:
    text = " ".join(text.split())
    if not _PARSED_SYNTAX.search(text):
        assert PARSER._parse(text) == PARSER._parser.parse(text)
