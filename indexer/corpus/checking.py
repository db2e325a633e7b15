"""``index check`` as a library call: every bad file and every content warning, without indexing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.corpus.articles import ArticleError
from indexer.corpus.curation import read_curation, unknown_pins
from indexer.corpus.files import ReservedBy, load_corpus
from indexer.corpus.lint import LintWarning, lint_corpus

__all__ = ["CheckReport", "check_corpus"]


@dataclass
class CheckReport:
    """What checking found: how many articles would index, what stops a file, what to improve."""

    articles: int
    errors: list[ArticleError]
    warnings: list[LintWarning]

    def ok(self, strict: bool = False) -> bool:
        """Nothing is bad (and with ``strict``, nothing to improve either)."""
        return not self.errors and not (strict and self.warnings)

    def as_dict(self, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": self.ok(strict),
            "articles": self.articles,
            "errors": [error.as_dict() for error in self.errors],
            "warnings": [warning.as_dict() for warning in self.warnings],
        }


def check_corpus(corpus: Path, reserved_by: ReservedBy | None = None) -> CheckReport:
    """Read the corpus and its curation files as a build would, and lint the articles that would index."""
    scan = load_corpus(corpus, reserved_by)
    curation, bad_lines = read_curation(corpus)
    articles = [article for article, _ in scan.articles]
    errors = scan.errors + bad_lines + unknown_pins(curation, {article.id for article in articles})
    return CheckReport(len(articles), errors, lint_corpus(articles))
