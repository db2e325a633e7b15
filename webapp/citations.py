"""Citations of an article in APA, MLA and BibTeX, built from its fields and the site's full url.

Each is plain text (what a copy button copies and the API carries) made of
parts, some italic as the style asks (the page shows those in ``<i>``, escaped
like any text). A missing author moves the title first (APA and MLA) or leaves
the field out (BibTeX); a missing date is "n.d." (APA), or the day of access
(MLA, and BibTeX's ``urldate``). BibTeX's special characters are escaped, and
its url is percent-encoded where a character would break the field.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app, url_for

from indexer import Article

__all__ = ["Citation", "citations_for", "site_citations", "citations_json", "bibtex_escape"]

_MLA_MONTHS = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")
_BIBTEX_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_BIBTEX_SPECIAL = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
})
#: What a BibTeX url may hold as it is; anything else is percent-encoded (``%`` included, so no TeX comment).
_URL_SAFE = ":/?=&;,+@!$'()*[]-._~"
_KEY_STOP = {"what", "which", "when", "where", "does", "how", "why", "the", "and", "are", "is", "do", "a", "an", "of", "in", "to"}


@dataclass(frozen=True)
class Citation:
    """One style's citation: its key (``apa``), label (``APA``) and parts (text, italic?)."""

    style: str
    label: str
    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)


def citations_for(article: Article, url: str, site_name: str, today: dt.date | None = None) -> list[Citation]:
    """APA, MLA and BibTeX citations of ``article``, found at the full ``url`` on the site ``site_name``.

    :param today: the day of access, cited where the article has no date.
    """
    today = today or dt.date.today()
    title, author, site = _clean(article.title), _clean(article.author), _clean(site_name)
    return [
        Citation("apa", "APA", _apa(title, author, article.date, site, url)),
        Citation("mla", "MLA", _mla(title, author, article.date, site, url, today)),
        Citation("bibtex", "BibTeX", ((_bibtex(article, title, author, site, url, today), False),)),
    ]


def site_citations(article: Article) -> list[Citation]:
    """The citations as this site serves them: its name, and the article's full url on the host asked
    (or Flask's ``SERVER_NAME`` and ``PREFERRED_URL_SCHEME``, where configured)."""
    url = url_for("pages.article", path=article.url.lstrip("/"), _external=True)
    return citations_for(article, url, current_app.config["SITE_NAME"])


def citations_json(citations: list[Citation]) -> dict[str, Any]:
    """The API's ``citations`` field: each style's plain text by its key."""
    return {citation.style: citation.text for citation in citations}


def _clean(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    """End with a full stop unless the text already ends with punctuation that closes it."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _apa(title: str, author: str, date: dt.date | None, site: str, url: str) -> tuple[tuple[str, bool], ...]:
    """APA 7, a page on a web site: Author. (Year, Month Day). *Title*. Site. URL"""
    when = f"({date.year}, {date:%B} {date.day})." if date else "(n.d.)."
    italic_title = (_sentence(title), True)
    # A group author that is the site itself is not repeated as the site (APA 7, 9.7).
    site_part = "" if author and author.casefold() == site.casefold() else f" {_sentence(site)}"
    if author:
        return ((f"{_sentence(author)} {when} ", False), italic_title, (f"{site_part} {url}", False))
    return (italic_title, (f" {when}{site_part} {url}", False))


def _mla(title: str, author: str, date: dt.date | None, site: str, url: str, today: dt.date) -> tuple[tuple[str, bool], ...]:
    """MLA 9: Author. "Title." *Site*, Day Mon. Year, URL. (Accessed Day Mon. Year. when undated)"""
    quoted = f"\u201c{_sentence(title)}\u201d "
    lead = f"{_sentence(author)} " if author else ""
    tail = f", {_mla_date(date)}, {url}." if date else f", {url}. Accessed {_mla_date(today)}."
    return ((lead + quoted, False), (site, True), (tail, False))


def _mla_date(day: dt.date) -> str:
    return f"{day.day} {_MLA_MONTHS[day.month - 1]} {day.year}"


def bibtex_escape(text: str) -> str:
    """Escape the characters BibTeX and LaTeX give a meaning: ``\\ { } & % $ # _ ^ ~``."""
    return text.translate(_BIBTEX_SPECIAL)


def _bibtex(article: Article, title: str, author: str, site: str, url: str, today: dt.date) -> str:
    """A ``@misc`` entry, the type every BibTeX style knows for a web page."""
    fields = [("author", f"{{{bibtex_escape(author)}}}")] if author else []
    fields += [("title", f"{{{{{bibtex_escape(title)}}}}}"), ("howpublished", f"{{{bibtex_escape(site)}}}")]
    if article.date:
        fields += [("year", f"{{{article.date.year}}}"), ("month", _BIBTEX_MONTHS[article.date.month - 1])]
    fields.append(("url", f"{{{quote(url, safe=_URL_SAFE)}}}"))
    if not article.date:
        fields.append(("urldate", f"{{{today.isoformat()}}}"))
    width = max(len(name) for name, _ in fields)
    body = ",\n".join(f"  {name.ljust(width)} = {value}" for name, value in fields)
    return f"@misc{{{_bibtex_key(article, author or site, title)},\n{body}\n}}"


def _bibtex_key(article: Article, who: str, title: str) -> str:
    """A key like ``quicktakes2025benzodiazepines``: ASCII letters and digits, unique by the id if all else fails."""
    words = [_ascii(word) for word in re.split(r"\W+", title)]
    topic = next((word for word in words if len(word) > 3 and word not in _KEY_STOP), "")
    key = f"{(_ascii(who.split()[0]) if who.split() else '')}{article.date.year if article.date else ''}{topic}"
    return key if re.search(r"[a-z]", key) else f"article{article.id}"


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())
