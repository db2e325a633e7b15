"""Text analysis: the one place that decides how words become index terms.

Index time and query time must agree, so both the schema and the highlighter
take their analyzer from :func:`text_analyzer`.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    PyStemmerFilter,
    RegexTokenizer,
    Token,
    Tokenizer,
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
    return FoldingTokenizer() | PyStemmerFilter("english", cachesize=100_000)


class FoldingTokenizer(Tokenizer):
    """Words, lower-cased, accents folded, stop words dropped: four Whoosh stages in one.

    Each stage of a Whoosh chain is a generator the token passes through; at
    indexing time that per-token overhead was most of the analysis cost, so
    the stages before stemming run here in one loop. The output (text,
    positions renumbered past stop words, character offsets) equals
    that of Whoosh's stock chain of those stages, which tests/test_analysis.py checks.
    """

    def __init__(self, expression: str = WORD_PATTERN, stoplist: frozenset[str] = frozenset(STOP_WORDS)) -> None:
        self.expression = re.compile(expression)
        self.stoplist = stoplist

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FoldingTokenizer) and (self.expression.pattern, self.stoplist) == (other.expression.pattern, other.stoplist)

    def __call__(  # type: ignore[override]
        self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
        removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value.lower().translate(accent_map)
            token.boost, token.stopped = 1.0, False
            token.pos, token.startchar, token.endchar = start_pos, start_char, start_char + len(value)
            yield token
            return
        stoplist, fold = self.stoplist, accent_map
        pos = None
        for number, match in enumerate(self.expression.finditer(value)):
            text = match.group(0).lower().translate(fold)
            stopped = text in stoplist
            if stopped and removestops:
                continue
            token.text, token.boost, token.stopped = text, 1.0, stopped
            if keeporiginal:
                token.original = match.group(0)
            if positions:
                # Renumbered past removed stop words, as Whoosh's StopFilter does.
                if stopped:
                    token.pos = start_pos + number
                else:
                    pos = start_pos + number if pos is None else pos + 1
                    token.pos = pos
            if chars:
                token.startchar, token.endchar = start_char + match.start(), start_char + match.end()
            yield token


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
