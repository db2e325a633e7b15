"""The fused tokenizer must analyse exactly as Whoosh's stock chain does."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.support.charset import accent_map

from indexer.index.analysis import STOP_WORDS, WORD_PATTERN, PyStemmerFilter, text_analyzer

OPTIONS = [
    {"positions": True, "chars": True},
    {"positions": True, "chars": True, "removestops": False},
    {"mode": "query"},
    {"no_morph": True, "positions": True},
]


def reference_analyzer() -> Any:
    """The same analysis as Whoosh's stock chain: the specification FoldingTokenizer must match."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | PyStemmerFilter("english", cachesize=100_000)
    )


def tokens(analyzer, text: str, options: dict) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    return [
        (t.text, getattr(t, "pos", None), getattr(t, "startchar", None), getattr(t, "endchar", None), t.stopped)
        for t in analyzer(text, **options)
    ]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("text", [
    "Drug tolerance: tolerant, tolerating; cross-tolerance e.g. vitamin A, O'Neill's 3.14 naïve Café ÆON",
    "the of and a to", "", "  ", "Über die Straße — THE The the", "x" * 300,
])
def test_same_terms_positions_and_offsets(text: str, options: dict) -> None:  # type: ignore[type-arg]
    assert tokens(text_analyzer(), text, options) == tokens(reference_analyzer(), text, options)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_same_output_on_any_text(text: str) -> None:
    for options in OPTIONS:
        assert tokens(text_analyzer(), text, options) == tokens(reference_analyzer(), text, options)


def test_analyzer_pickles_and_keeps_stemming_separate_for_spelling() -> None:
    analyzer = pickle.loads(pickle.dumps(text_analyzer()))
    assert analyzer.has_morph()
    assert [t.text for t in analyzer("Running runs")] == ["run", "run"]
    assert [t.text for t in analyzer("Running runs", no_morph=True)] == ["running", "runs"]


def test_indexes_written_before_the_stage_folders_still_unpickle_their_analysers() -> None:
    """Whoosh pickles analysers by module name; indexes built by earlier versions name indexer.analysis."""
    from indexer.index.analysis import keyword_analyzer

    for analyzer in (text_analyzer(), keyword_analyzer()):
        # protocol 2 names classes as text, as the tables of contents written by Whoosh do
        old = pickle.dumps(analyzer, protocol=2).replace(b"indexer.index.analysis", b"indexer.analysis")
        assert b"indexer.analysis" in old
        again = pickle.loads(old)
        text = "Vitamin-D, Café; studies"
        assert [token.text for token in again(text)] == [token.text for token in analyzer(text)]
