"""Mark query terms in text: titles, snippets and rendered article pages.

Text is run through the same analyzer as the index, so a query stem marks
every surface form that shares it ("tolerant" marks "tolerance"). Every
character of the input is escaped; the only markup added is ``<mark>``.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from typing import Iterable

from indexer.index import analysis
from indexer.index.analysis import text_analyzer

__all__ = ["Highlighter", "Snippet"]

_TAG_SPLIT = re.compile(r"(<[^>]*>)")
_WORD = re.compile(getattr(analysis, "WORD_PATTERN", r"\w+"))
#: word -> the index terms it analyses to. Running the whole analyzer chain over
#: every word of every shown answer was over half of a search's time; a word
#: seen once is looked up after that. Bounded: cleared when it grows past this.
_TERMS_CACHE_SIZE = 200_000
_terms_cache: dict[str, frozenset[str]] = {}
_local = threading.local()


def terms_of(word: str) -> frozenset[str]:
    """The index terms one word becomes (cached; the analyzer is per thread)."""
    found = _terms_cache.get(word)
    if found is None:
        analyzer = getattr(_local, "analyzer", None)
        if analyzer is None:
            analyzer = _local.analyzer = text_analyzer()
        found = frozenset(token.text for token in analyzer(word, mode="query"))
        if len(_terms_cache) >= _TERMS_CACHE_SIZE:
            _terms_cache.clear()
        _terms_cache[word] = found
    return found
_NO_MARK_INSIDE = {"code", "pre"}


@dataclass(frozen=True)
class Snippet:
    html: str
    matched: tuple[str, ...]  # the surface forms that were marked, in order of first use


class Highlighter:
    """Highlights for one query's stemmed terms; cheap to create per search."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = frozenset(terms)
        # Words that could match start like a term's stem (less its last letter, which
        # Snowball may have changed: "studi" for "study"). A regex finds those in C, and
        # only they are analysed; analysing every word of every answer shown was the
        # larger part of a search's time.
        prefixes = sorted({term[:-1] if len(term) > 3 else term for term in self.terms if term}, key=len, reverse=True)
        self._candidates = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, prefixes)) + ")", re.IGNORECASE) if prefixes else None
        self._prefixes = prefixes
        # In ASCII text, str.find on the lower-cased text finds the regex's candidates about
        # five times faster (the regex tries every prefix at every position of a 3 KB answer).
        self._ascii = all(prefix.isascii() for prefix in prefixes)

    def _starts(self, text: str) -> list[int]:
        """Where the candidate words start: where the regex's matches would, in order."""
        assert self._candidates is not None
        if not (self._ascii and text.isascii()):
            return [candidate.start() for candidate in self._candidates.finditer(text)]
        lowered = text.lower()
        longest: dict[int, int] = {}  # start -> the longest prefix there (the regex tries the longest first)
        for prefix in self._prefixes:
            at = lowered.find(prefix)
            while at >= 0:
                before = lowered[at - 1] if at else " "
                if not (before.isalnum() or before == "_") and len(prefix) > longest.get(at, 0):
                    longest[at] = len(prefix)
                at = lowered.find(prefix, at + 1)
        starts, end = [], 0
        for at in sorted(longest):
            if at >= end:  # (the regex goes on after its last match, not inside it)
                starts.append(at)
                end = at + longest[at]
        return starts

    def matches(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """(start, end, the query terms it analyses to) of each word of ``text`` that matches, in order.

        One reading of an answer's plain text serves its snippet and all its passages.
        """
        if self._candidates is None or not text:
            return []
        found = []
        terms = self.terms
        for start in self._starts(text):
            match = _WORD.match(text, start)
            if match is None:
                continue
            hit = terms_of(match.group()) & terms
            if hit:
                found.append((match.start(), match.end(), hit))
        return found

    def _spans(self, text: str, found: list[tuple[int, int, frozenset[str]]] | None = None) -> list[tuple[int, int, str]]:
        """Return (start, end, term) of each word of ``text`` that matches a query term."""
        return [(start, end, min(hit)) for start, end, hit in (self.matches(text) if found is None else found)]

    def mark(self, text: str, found: list[tuple[int, int, frozenset[str]]] | None = None) -> str:
        """Escape ``text`` and wrap every matching word in ``<mark>`` (``found``: its :meth:`matches`, if known)."""
        return _render(text, self._spans(text, found), 0, len(text))

    def matched_forms(self, text: str, found: list[tuple[int, int, frozenset[str]]] | None = None) -> list[str]:
        """Return the distinct words of ``text`` (lower-cased) that match the query."""
        return list(dict.fromkeys(text[start:end].lower() for start, end, _ in self._spans(text, found)))

    def snippet(self, text: str, size: int = 220, found: list[tuple[int, int, frozenset[str]]] | None = None) -> Snippet:
        """Pick the window of about ``size`` characters with the most distinct matches.

        :param found: ``text``'s :meth:`matches`, if already known.
        """
        spans = self._spans(text, found)
        if not spans:
            end = _word_end(text, size)
            return Snippet(html.escape(text[:end]) + (" …" if end < len(text) else ""), ())
        best_start = _best_window(spans, size)
        start = _sentence_start(text, best_start, size // 3)
        end = _word_end(text, start + size)
        inside = [span for span in spans if span[0] >= start and span[1] <= end]
        body = _render(text, inside, start, end)
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(text) else ""
        matched = tuple(dict.fromkeys(text[a:b].lower() for a, b, _ in inside))
        return Snippet(prefix + body + suffix, matched)

    def mark_html(self, fragment: str) -> str:
        """Mark terms in the text of trusted, sanitised HTML, leaving tags alone."""
        out: list[str] = []
        skip_depth = 0
        for part in _TAG_SPLIT.split(fragment):
            if part.startswith("<"):
                name = part.strip("</>").split()[0].lower() if part.strip("</> ") else ""
                if name in _NO_MARK_INSIDE:
                    skip_depth += -1 if part.startswith("</") else 1
                out.append(part)
            elif part and skip_depth <= 0:
                out.append(self.mark(html.unescape(part)))
            else:
                out.append(part)
        return "".join(out)


def _best_window(spans: list[tuple[int, int, str]], size: int) -> int:
    """Where the best window starts: at a match, holding the most distinct terms (then matches)
    of those ending within ``size`` characters.

    Matches are in order and do not overlap, so each window's end only moves on:
    one pass, counting as it goes (a common word's answer has hundreds of matches).
    """
    best_start, best_score = 0, -1.0
    counts: dict[str, int] = {}
    last = 0
    for i, (start, _, stem) in enumerate(spans):
        while last < len(spans) and spans[last][1] <= start + size:
            counts[spans[last][2]] = counts.get(spans[last][2], 0) + 1
            last += 1
        score = len(counts) + 0.1 * (last - i)
        if score > best_score:
            best_start, best_score = start, score
        if last > i:  # (the match leaves the next windows)
            counts[stem] -= 1
            if not counts[stem]:
                del counts[stem]
        else:
            last = i + 1
    return best_start


def _render(text: str, spans: list[tuple[int, int, str]], start: int, end: int) -> str:
    out: list[str] = []
    cursor = start
    for a, b, _ in spans:
        if a < cursor or b > end:
            continue
        out.append(html.escape(text[cursor:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        cursor = b
    out.append(html.escape(text[cursor:end]))
    return "".join(out)


def _sentence_start(text: str, position: int, reach: int) -> int:
    """Start at the sentence holding ``position`` if it begins within ``reach`` characters."""
    floor = max(0, position - reach)
    for mark in (". ", "\n", "? ", "! ", ": "):
        found = text.rfind(mark, floor, position)
        if found != -1:
            return found + len(mark)
    if floor == 0:
        return 0
    space = text.find(" ", floor, position)
    return space + 1 if space != -1 else position


def _word_end(text: str, position: int) -> int:
    if position >= len(text):
        return len(text)
    space = text.rfind(" ", 0, position)
    return space if space > 0 else position
