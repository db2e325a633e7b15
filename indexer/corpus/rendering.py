"""Markdown answers to sanitised HTML (for pages) and to plain text (for the index).

Python-Markdown passes raw HTML through, so its output always goes through
nh3 before a page sees it. A ``Markdown`` instance keeps state between
documents and is not thread-safe: each thread gets its own and resets it.
"""

from __future__ import annotations

import html
import re
import threading
from typing import TYPE_CHECKING

import nh3

if TYPE_CHECKING:
    import markdown

__all__ = ["render_markdown", "plain_text", "ALLOWED_TAGS"]

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "h5", "h6", "table", "thead",
    "tbody", "tr", "th", "td", "sub", "sup", "mark", "del",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
_URL_SCHEMES = {"http", "https", "mailto"}

_local = threading.local()


def _converter() -> markdown.Markdown:
    converter = getattr(_local, "markdown", None)
    if converter is None:
        import markdown  # here: indexing needs only plain_text, and an update should not pay for Markdown

        converter = markdown.Markdown(extensions=["sane_lists", "tables"], output_format="html")
        _local.markdown = converter
    return converter


def render_markdown(source: str) -> str:
    """Render Markdown to HTML that is safe to put in a page as is."""
    converter = _converter()
    try:
        raw = converter.convert(source)
    finally:
        converter.reset()
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


_TAG = re.compile(r"<[^>]{0,500}>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`+|~~)(?=\S)(.+?)(?<=\S)\1")
_LINE_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d{1,9}[.)]\s+)", re.MULTILINE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_ODD_SPACE = re.compile(r"[\t\r\f\v]|  ")  # what _SPACE would change in a line (a single space it leaves)
_EMPHASIS_MARK = re.compile(r"[*_`~]")


def plain_text(source: str) -> str:
    """Strip Markdown syntax cheaply, keeping words and paragraph breaks.

    Indexing renders thousands of answers, so this is a few regular expressions
    rather than a full Markdown pass; it only has to keep the words readable.
    """
    text = source
    if "](" in text:  # (each rule runs only where its syntax can be: most blocks have none)
        text = _LINK.sub(r"\1", _IMAGE.sub(r"\1", text))
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    if _EMPHASIS_MARK.search(text):
        for _ in range(2):  # nested emphasis, e.g. **_word_**
            text = _EMPHASIS.sub(r"\2", text)
    if "&" in text:
        text = html.unescape(text)
    if _ODD_SPACE.search(text):
        lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    else:  # (one search of the whole text instead of a substitution per line)
        lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
