"""Find and read a corpus: a folder tree of ``*.md`` articles.

Every problem becomes an :class:`ArticleError` with the file's path, so one
bad article is reported and skipped while the rest is indexed.
"""

from __future__ import annotations

import hashlib
import operator
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from indexer.corpus.articles import MAX_FILE_BYTES, Article, ArticleError, parse_article

__all__ = ["CorpusError", "CorpusFile", "Listing", "Scan", "scan_files", "walk_order", "read_article", "load_corpus", "content_hash", "read_bytes", "parse_bytes", "duplicate_of", "ReservedBy"]


class CorpusError(RuntimeError):
    """The corpus folder itself is unusable (missing, not a folder)."""


class CorpusFile(NamedTuple):
    """A candidate article file: its path relative to the corpus root, where it is, and its stat.

    ``size``, ``mtime_ns`` and ``ctime_ns`` are what the scan saw (-1 if it could
    not stat the file); `index update` compares them with its ledger. (A named
    tuple: a scan makes one per file, and it is the cheapest record to create.)
    """

    relpath: str
    location: str  # where to open it (a string: building 100,000 Paths took a second)
    size: int = -1
    mtime_ns: int = -1
    ctime_ns: int = -1

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def signature(self) -> tuple[int, int, int]:
        """What the update ledger compares: size, modification and change time."""
        return self.size, self.mtime_ns, self.ctime_ns


@dataclass
class Scan:
    """What reading a corpus found: good articles (with their hashes) and problems."""

    articles: list[tuple[Article, str]] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


def content_hash(data: bytes) -> str:
    """Hash an article file's bytes: what `index update` compares."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Listing(NamedTuple):
    """What a scan found: the files to look at, every article path seen, and problems."""

    files: list[CorpusFile]
    paths: list[str]  # every *.md path found, including those ``unchanged`` skipped
    errors: list[ArticleError]


#: The hot check of a scan: is the file at this path still as recorded?
#: (path, size, mtime_ns, ctime_ns) -> bool (the ledger, :mod:`indexer.index.ledger`, makes one)
Unchanged = Callable[[str, int, int, int], bool]


def scan_files(root: Path, unchanged: Unchanged | None = None) -> Listing:
    """List the corpus's ``*.md`` files, with their stat, in a stable order; refuse links that leave it.

    Hidden files and folders are skipped, and linked folders are not followed.
    One ``scandir`` pass and one ``stat`` per file: 100,000 files take a fraction
    of a second. With ``unchanged`` (an update's ledger check), files it
    recognises make no record, so an update spends on them only their ``stat``.
    """
    if not root.exists():
        raise CorpusError(f"corpus folder {root} does not exist: pass --corpus DIR or set ARTICLE_SEARCH_CORPUS")
    if not root.is_dir():
        raise CorpusError(f"corpus {root} is not a folder: pass the folder that holds the *.md articles")
    real_root = root.resolve()
    files: list[CorpusFile] = []
    paths: list[str] = []
    errors: list[ArticleError] = []
    folders: list[tuple[str, str]] = [(str(root), "")]  # (folder, its path relative to root + "/")
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as listing:
                # Name order makes a build's order stable; an update sorts only what changed, at the end.
                entries = sorted(listing, key=_name) if unchanged is None else list(listing)
        except OSError as error:
            errors.append(ArticleError(prefix.rstrip("/") or ".", f"cannot list the folder: {error.strerror}"))
            continue
        subfolders = []
        for entry in entries:  # the hot loop of every update: kept to the bare checks
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                subfolders.append((entry.path, f"{prefix}{name}/"))
            elif name.endswith(".md"):
                relpath = prefix + name
                if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(real_root):
                    errors.append(ArticleError(relpath, "symbolic link points outside the corpus; copy the file in instead"))
                    continue
                paths.append(relpath)
                try:
                    stat = entry.stat()
                except OSError:
                    files.append(CorpusFile(relpath, entry.path))  # reading it will report why
                    continue
                if unchanged is not None and unchanged(relpath, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns):
                    continue
                files.append(CorpusFile(relpath, entry.path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
        folders.extend(reversed(subfolders) if unchanged is None else subfolders)  # depth first, in name order, like os.walk
    if unchanged is not None:
        files.sort(key=lambda file: walk_order(file.relpath))
    return Listing(files, paths, errors)


def walk_order(relpath: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting paths in the order of a build's walk: a folder's files, then its subfolders, by name."""
    *folders, name = relpath.split("/")
    return (*((1, folder) for folder in folders), (0, name))


_name = operator.attrgetter("name")


def read_article(file: CorpusFile) -> tuple[Article, str]:
    """Read, decode and parse one file; return the article and its content hash."""
    data = read_bytes(file)
    return parse_bytes(file, data), content_hash(data)


def read_bytes(file: CorpusFile) -> bytes:
    """Read a file's bytes, refusing one over the size limit."""
    try:
        size = file.size if file.size >= 0 else os.stat(file.location).st_size
        if size > MAX_FILE_BYTES:
            raise ArticleError(
                file.relpath, f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit; shorten or split it"
            )
        with open(file.location, "rb") as handle:
            # read(n) allocates n bytes up front: ask for the size seen, then any growth since.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(MAX_FILE_BYTES + 1 - len(data))
        if len(data) > MAX_FILE_BYTES:  # it grew since the scan
            raise ArticleError(file.relpath, f"file is over the {MAX_FILE_BYTES // 1_000_000} MB limit; shorten or split it")
        return data
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


def load_corpus(root: Path, reserved_by: ReservedBy | None = None) -> Scan:
    """Read a whole corpus, dropping duplicates of an earlier article's id or url (and urls ``reserved_by`` the site)."""
    files, _, errors = scan_files(root)
    scan = Scan(errors=errors)
    seen_ids: dict[int, str] = {}
    seen_urls: dict[str, str] = {}
    for item in read_all(files):
        if isinstance(item, ArticleError):
            scan.errors.append(item)
            continue
        article, digest = item
        duplicate = duplicate_of(article, seen_ids, seen_urls, reserved_by)
        if duplicate:
            scan.errors.append(duplicate)
            continue
        seen_ids[article.id] = article.source
        seen_urls[article.url] = article.source
        scan.articles.append((article, digest))
    scan.errors.sort(key=lambda error: error.source)
    return scan


#: Which route of the site serving the index would answer an article's url instead
#: of the article (described for a person), or None: the web app's url map decides.
ReservedBy = Callable[[str], "str | None"]


def duplicate_of(
    article: Article, ids: dict[int, str], urls: dict[str, str], reserved_by: ReservedBy | None = None
) -> ArticleError | None:
    """The error for an article whose id or url another file (in ``ids``/``urls``: value -> path) already
    uses, or whose url the site's own pages take (``reserved_by``)."""
    route = reserved_by(article.url) if reserved_by is not None else None
    if route:
        return ArticleError(article.source, f"'url' {article.url!r} is taken by {route} of the web app, which would hide the article; choose another url")
    if ids.get(article.id, article.source) != article.source:
        return ArticleError(article.source, f"duplicate id {article.id}: {ids[article.id]} already uses it; give each article its own id")
    if urls.get(article.url, article.source) != article.source:
        return ArticleError(article.source, f"duplicate url {article.url}: {urls[article.url]} already uses it; give each article its own url")
    return None
