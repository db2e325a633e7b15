"""Find and read a corpus: a folder tree of ``*.md`` articles.

Every problem becomes an :class:`ArticleError` with the file's path, so one
bad article is reported and skipped while the rest is indexed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .articles import MAX_FILE_BYTES, Article, ArticleError, parse_article

__all__ = ["CorpusError", "CorpusFile", "Scan", "scan_files", "read_article", "load_corpus", "content_hash", "read_bytes", "parse_bytes", "duplicate_of"]


class CorpusError(RuntimeError):
    """The corpus folder itself is unusable (missing, not a folder)."""


@dataclass(frozen=True)
class CorpusFile:
    """A candidate article file: its path relative to the corpus root, and where it is."""

    relpath: str
    path: Path


@dataclass
class Scan:
    """What reading a corpus found: good articles (with their hashes) and problems."""

    articles: list[tuple[Article, str]] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


def content_hash(data: bytes) -> str:
    """Hash an article file's bytes: what `index update` compares."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def scan_files(root: Path) -> tuple[list[CorpusFile], list[ArticleError]]:
    """List the corpus's ``*.md`` files in a stable order; refuse links that leave it."""
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist: pass --corpus DIR or set ARTICLE_SEARCH_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus {root} is not a folder: pass the folder that holds the *.md articles")
    real_root = root.resolve()
    files: list[CorpusFile] = []
    errors: list[ArticleError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".md") or name.startswith("."):
                continue
            path = Path(dirpath, name)
            relpath = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    errors.append(ArticleError(relpath, "symbolic link points outside the corpus; copy the file in instead"))
                    continue
            files.append(CorpusFile(relpath, path))
    return files, errors


def read_article(file: CorpusFile) -> tuple[Article, str]:
    """Read, decode and parse one file; return the article and its content hash."""
    data = read_bytes(file)
    return parse_bytes(file, data), content_hash(data)


def read_bytes(file: CorpusFile) -> bytes:
    """Read a file's bytes, refusing one over the size limit."""
    try:
        size = file.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ArticleError(
                file.relpath, f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit; shorten or split it"
            )
        return file.path.read_bytes()
    except OSError as error:
        raise ArticleError(file.relpath, f"cannot read the file: {error.strerror}") from None


def parse_bytes(file: CorpusFile, data: bytes) -> Article:
    """Decode and parse a file's bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ArticleError(file.relpath, "not UTF-8 text (a binary file, or another encoding?): save it as UTF-8", line) from None
    return parse_article(text, file.relpath)


def read_all(files: Iterable[CorpusFile]) -> Iterator[tuple[Article, str] | ArticleError]:
    """Read each file, yielding an (article, hash) or the error that skips it."""
    for file in files:
        try:
            yield read_article(file)
        except ArticleError as error:
            yield error


def load_corpus(root: Path) -> Scan:
    """Read a whole corpus, dropping duplicates of an earlier article's id or url."""
    files, errors = scan_files(root)
    scan = Scan(errors=errors)
    seen_ids: dict[int, str] = {}
    seen_urls: dict[str, str] = {}
    for item in read_all(files):
        if isinstance(item, ArticleError):
            scan.errors.append(item)
            continue
        article, digest = item
        duplicate = duplicate_of(article, seen_ids, seen_urls)
        if duplicate:
            scan.errors.append(duplicate)
            continue
        seen_ids[article.id] = article.source
        seen_urls[article.url] = article.source
        scan.articles.append((article, digest))
    scan.errors.sort(key=lambda error: error.source)
    return scan


def duplicate_of(article: Article, ids: dict[int, str], urls: dict[str, str]) -> ArticleError | None:
    """The error for an article whose id or url another file (in ``ids``/``urls``: value -> path) already uses."""
    if ids.get(article.id, article.source) != article.source:
        return ArticleError(article.source, f"duplicate id {article.id}: {ids[article.id]} already uses it; give each article its own id")
    if urls.get(article.url, article.source) != article.source:
        return ArticleError(article.source, f"duplicate url {article.url}: {urls[article.url]} already uses it; give each article its own url")
    return None
