"""Content lint: what makes an article worse to find or read, though it still indexes.

Parsing refuses only what the index cannot hold (:mod:`indexer.corpus.articles`);
these checks find what a maintainer should fix: related links to articles the
corpus does not have (or to the article itself), two articles with one title,
no subject or keywords, answers too short to answer, a url filed under another
subject. Each is a :class:`LintWarning`, reported in the shape of a bad article
(path, line, what to fix). ``index check`` lists them (``--strict`` fails on
them); builds and updates only count them, and never stop for them.

Cross-article checks ask a :class:`Known` what the corpus holds: in memory
for a whole corpus (:class:`Linter`), or the index for an update's few articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from indexer.corpus.articles import Article, ArticleError
from indexer.corpus.rendering import plain_text

__all__ = ["LintWarning", "Known", "Linter", "lint_corpus", "own_warnings", "cross_warnings", "title_key", "MIN_ANSWER_WORDS"]

#: An answer shorter than this rarely answers; it is usually a stub or a paste gone wrong.
MIN_ANSWER_WORDS = 40
_URL_SUBJECT = re.compile(r"^/learn/([^/]+)/questions/")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class LintWarning(ArticleError):
    """A problem of an article that is still indexed: where it is, which check found it, what to fix."""

    def __init__(self, source: str, reason: str, line: int | None = None, rule: str = "") -> None:
        super().__init__(source, reason, line)
        self.rule = rule

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "rule": self.rule}


class Known(Protocol):
    """What the corpus holds, as the cross-article checks ask it."""

    def has_id(self, article_id: int) -> bool: ...

    def has_url(self, url: str) -> bool: ...

    def earlier_title(self, title: str, source: str) -> str | None:
        """The path of another article with this title that comes before ``source``, if any."""


def title_key(title: str) -> str:
    """A title as duplicates compare it: case and spacing ignored."""
    return " ".join(title.casefold().split())


def subject_slug(subject: str) -> str:
    """A subject as urls spell it: "Computer Science" -> "computer-science"."""
    return _NOT_SLUG.sub("-", subject.lower()).strip("-")


def own_warnings(article: Article, answer_text: str | None = None) -> list[LintWarning]:
    """The checks one article answers alone (``answer_text``: its plain answer, if already made)."""
    found: list[LintWarning] = []
    source, lines = article.source, article.lines
    if "subject" not in lines:
        found.append(LintWarning(source, "no 'subject': add one (e.g. 'subject: Medicine') so the subject filter lists it", None, "no-subject"))
    if not article.keywords:
        found.append(LintWarning(
            source, "no keywords: add seo.page_keywords (comma-separated) so searches for them find it",
            lines.get("seo"), "no-keywords",
        ))
    words = len((plain_text(article.answer) if answer_text is None else answer_text).split())
    if words < MIN_ANSWER_WORDS:
        found.append(LintWarning(
            source, f"the answer has {words} word(s): write at least {MIN_ANSWER_WORDS}, or merge it into a related article",
            lines.get("answer"), "short-answer",
        ))
    match = _URL_SUBJECT.match(article.url)
    if match and "subject" in lines and match.group(1) != subject_slug(article.subject):
        found.append(LintWarning(
            source, f"'url' files it under /learn/{match.group(1)}/ but 'subject' is {article.subject!r}: "
            f"move it to /learn/{subject_slug(article.subject)}/questions/... or fix 'subject'",
            lines.get("url"), "url-subject",
        ))
    return found


def cross_warnings(article: Article, known: Known) -> list[LintWarning]:
    """The checks that need the rest of the corpus: related links and duplicate titles."""
    found: list[LintWarning] = []
    source = article.source
    for link in article.related:
        line = link.line
        if link.id == article.id or link.url == article.url:
            found.append(LintWarning(source, "a related link points to this article itself: link another article or remove it", line, "related-self"))
            continue
        missing = []
        if link.id is not None and not known.has_id(link.id):
            missing.append(f"id {link.id}")
        if link.url and not known.has_url(link.url):
            missing.append(f"url {link.url}")
        if missing:
            found.append(LintWarning(
                source, f"a related link's {' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not in the corpus: "
                "fix it to an article's id and url, or remove the link",
                line, "related-missing",
            ))
    other = known.earlier_title(article.title, source)
    if other is not None:
        found.append(LintWarning(
            source, f"title {article.title!r} is also the title of {other}: give each article its own title",
            article.lines.get("title"), "duplicate-title",
        ))
    return found


@dataclass
class Linter:
    """Lints a whole corpus read one article at a time (as builds read it), in one pass and a finish.

    It keeps each article's id, url, title and related links, never its answer,
    so a 100,000-article build holds only those until :meth:`warnings`.
    """

    ids: set[int] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    titles: dict[str, str] = field(default_factory=dict)  # title_key -> the first path with it
    found: list[LintWarning] = field(default_factory=list)
    _pending: list[Article] = field(default_factory=list)

    def add(self, article: Article, answer_text: str | None = None) -> None:
        """Take in one article of the corpus (``answer_text``: its plain answer, if already made)."""
        self.ids.add(article.id)
        self.urls.add(article.url)
        self.titles.setdefault(title_key(article.title), article.source)
        self.found.extend(own_warnings(article, answer_text))
        self._pending.append(_skeleton(article))

    def has_id(self, article_id: int) -> bool:
        return article_id in self.ids

    def has_url(self, url: str) -> bool:
        return url in self.urls

    def earlier_title(self, title: str, source: str) -> str | None:
        holder = self.titles.get(title_key(title))
        return holder if holder is not None and holder != source else None

    def warnings(self) -> list[LintWarning]:
        """Every warning of the articles added, by path and line."""
        found = list(self.found)
        for article in self._pending:
            found.extend(cross_warnings(article, self))
        return sorted(found, key=lambda warning: (warning.source, warning.line or 0))


def _skeleton(article: Article) -> Article:
    """The article without the texts the cross-article checks never read (answers are most of its size)."""
    return Article(
        id=article.id, title=article.title, question="", answer="", url=article.url,
        related=article.related, source=article.source, lines={"title": article.lines["title"]} if "title" in article.lines else {},
    )


def lint_corpus(articles: Iterable[Article]) -> list[LintWarning]:
    """Lint a whole corpus: every warning, by path and line."""
    linter = Linter()
    for article in articles:
        linter.add(article)
    return linter.warnings()
