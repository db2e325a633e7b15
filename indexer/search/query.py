"""Turn what a student types into a Whoosh query.

Supported: several words (any may match; documents matching more rank
higher), "quoted phrases", ``-exclude``, ``OR``/``AND``/``NOT`` and
parentheses. Anything malformed (an unclosed quote or parenthesis, a lone
operator) is searched as plain words instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import qparser
from whoosh import query as wq
from whoosh.fields import Schema

from indexer.index.schema import FIELD_BOOSTS, SEARCH_FIELDS

__all__ = ["ParsedQuery", "QueryParser", "MAX_QUERY_CHARS", "MAX_QUERY_TERMS", "positive_terms"]

#: Longer input is cut: no real question needs more, and parsing cost grows with it.
MAX_QUERY_CHARS = 500
#: A query of more words than this is a pasted question: it is searched as plain
#: words (its syntax, if any, ignored), every word kept, the rarest scored first
#: (:func:`indexer.ranking.bm25f.bm25f_scores`), so the time limit, not the
#: position of a word, decides what a very long question costs.
MAX_QUERY_TERMS = 32

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SIGN = r"(?:^|(?<=\s)){}(?=[^\W\d_])"
_SYNTAX = re.compile(r"[\"()\[\]{}^~:*?\\+]|(?<!\w)-|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")
#: What the parser as set up here reads as syntax (quotes, groups, signs, operators): without
#: any of it, a query is its words (":", "?", "*", "^" and the rest are text to it).
_PARSED_SYNTAX = re.compile(r"[\"()+]|(?<!\w)-|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the cleaned input
    query: wq.Query
    words: tuple[str, ...]  # the plain words the user typed, for "did you mean" and "no match for"
    plain: bool  # True when syntax was ignored because it was malformed


def clean(text: str) -> str:
    """Drop control characters, collapse spaces and cut to the length limit."""
    text = _CONTROL.sub(" ", text or "")
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def plain_words(text: str) -> tuple[str, ...]:
    """The words of a query with its syntax removed."""
    return tuple(_SYNTAX.sub(" ", text).split())


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and text.count('"') % 2 == 0


class QueryParser:
    """A parser for the search fields, built once per index schema."""

    def __init__(self, schema: Schema) -> None:
        self._parser = qparser.QueryParser(None, schema, group=qparser.OrGroup)
        self._parser.remove_plugin_class(qparser.WildcardPlugin)
        self._parser.remove_plugin_class(qparser.FieldsPlugin)
        self._parser.remove_plugin_class(qparser.RangePlugin)
        self._parser.remove_plugin_class(qparser.BoostPlugin)
        self._parser.remove_plugin_class(qparser.EveryPlugin)
        self._parser.remove_plugin_class(qparser.SingleQuotePlugin)
        # "-word" excludes and "+word" requires, but only at the start of a word
        # and before a letter: the hyphens in "cross-tolerance", "(H2A)-histone"
        # and "recombination - defective" and the signs in "+1" or "-3" are text.
        self._parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=_SIGN.format("\\+"), minusexpr=_SIGN.format("-")))
        self._parser.add_plugin(qparser.MultifieldPlugin(SEARCH_FIELDS, fieldboosts=FIELD_BOOSTS))
        self._fields = [(field, schema[field], FIELD_BOOSTS[field]) for field in SEARCH_FIELDS]

    def _parse(self, text: str) -> wq.Query:
        """Whoosh's parse of ``text``; text with no syntax at all is built directly, as Whoosh builds it.

        Without quotes, brackets, operators, signs or field names, the parser only cuts
        the text at spaces and ORs each word's terms in every search field, field by
        field (a property test compares the two); doing that here costs a fifth of the
        parser's time, which was a tenth of a search's.
        """
        if _PARSED_SYNTAX.search(text):
            return self._parser.parse(text)
        terms = [wq.Term(field, term, boost=boost)
                 for word in text.split() for field, kind, boost in self._fields for term in kind.process_text(word, mode="query")]
        return wq.Or(terms).normalize() if terms else wq.NullQuery

    def parse(self, text: str) -> ParsedQuery:
        """Parse ``text``; fall back to plain words when its syntax is broken."""
        text = clean(text)
        words = plain_words(text)
        # Unbalanced syntax, or a pasted question: search the words plainly.
        plain = not _balanced(text) or len(words) > MAX_QUERY_TERMS
        source = " ".join(words) if plain else text
        try:
            parsed = self._parse(source)
        except Exception:  # Whoosh's parser can raise on odd input; words always parse
            plain = True
            parsed = self._parse(" ".join(words))
        if parsed is wq.NullQuery or not positive_terms(parsed):
            # e.g. "-word" alone or "NOT x": nothing to match, so search the words
            if words and source != " ".join(words):
                plain = True
                parsed = self._parse(" ".join(words))
        return ParsedQuery(text, parsed, words, plain)


def positive_terms(q: wq.Query) -> set[tuple[str, str]]:
    """Return the (field, term) pairs a matching document may contain (not the excluded ones)."""
    found: set[tuple[str, str]] = set()
    _add_positive_terms(q, found)
    return found


def _add_positive_terms(node: wq.Query, found: set[tuple[str, str]]) -> None:
    # (a module function, not a closure that calls itself: that would be a reference cycle, left
    # for the cycle collector, at every search)
    if isinstance(node, wq.Not):
        return
    if isinstance(node, wq.AndNot):
        _add_positive_terms(node.a, found)
        return
    if isinstance(node, (wq.Term, wq.Phrase)) or not node.is_leaf():
        if node.is_leaf():
            for field, text in node.iter_all_terms():
                found.add((field, text if isinstance(text, str) else text.decode("utf-8", "replace")))
        else:
            for child in node.children():
                _add_positive_terms(child, found)
