"""Text analysis: the one place that decides how words become index terms.

Index time and query time must agree, so both the schema and the highlighter
take their analyzer from :func:`text_analyzer`.
"""

from __future__ import annotations

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    PyStemmerFilter,
    RegexTokenizer,
    StopFilter,
)
from whoosh.support.charset import accent_map

__all__ = ["text_analyzer", "keyword_analyzer", "STOP_WORDS"]

#: Whoosh's default English stop list: short and conservative, so a query such
#: as "vitamin a" keeps its meaning through the single-letter minimum size.
from whoosh.analysis import STOP_WORDS  # noqa: E402

#: Words are letters and digits, optionally joined by dots or apostrophes
#: inside ("e.g", "o'neill", "3.14"): hyphens split, so "cross-tolerance"
#: finds "tolerance".
WORD_PATTERN = r"\w+(?:[.']\w+)*"


def text_analyzer() -> Analyzer:
    """Tokenize, lower-case, fold accents, drop stop words and stem (Snowball English, in C)."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | PyStemmerFilter("english", cachesize=100_000)
    )


def keyword_analyzer(separator: str = ",") -> Analyzer:
    """Keep each ``separator``-separated phrase whole, lower-cased, for exact matches."""
    return RegexTokenizer(f"[^{separator}]+") | _StripFilter() | LowercaseFilter() | CharsetFilter(accent_map)


class _StripFilter(Filter):
    """Trim the white space around a comma-separated keyword."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        for token in tokens:
            token.text = " ".join(token.text.split())
            if token.text:
                yield token
