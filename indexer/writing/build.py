"""Build and update the index from a corpus.

``build_index`` writes a whole new generation and swaps it in only when it
has committed; ``update_index`` re-indexes just the files whose content hash
changed, reading only those whose stat differs from the ledger
(:mod:`indexer.index.ledger`). Both hold the index folder's write lock, so writers
take turns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from whoosh import index as whoosh_index
from whoosh.writing import IndexWriter

from indexer.corpus.articles import Article, ArticleError
from indexer.corpus.files import CorpusFile, content_hash, duplicate_of, parse_bytes, read_all, read_bytes, scan_files
from indexer.index.ledger import FileLedger, Seen
from indexer.index.merging import merge_by_tier
from indexer.semantic.vectors import VECTORS_FILE, ArticleVectors
from indexer.semantic.model import SemanticUnavailable, embedding_text, load_encoder
from indexer.semantic.query_encoder import PIECES_CACHE_FILE, due_for_refit, fit_query_encoder, require_fitting
from indexer.index.vocabulary import Vocabulary
from indexer.corpus.rendering import plain_text
from indexer.index.schema import SCHEMA_VERSION, make_schema, pack_article, unpack_article
from indexer.index.store import IndexStore, IndexStoreError, Pointer, is_disk_full

log = logging.getLogger(__name__)

__all__ = ["BuildError", "BuildReport", "UpdateReport", "build_index", "update_index", "document_for"]

Progress = Callable[[int], None]
#: Whoosh's pooled writer spills to disk past this many megabytes per process.
WRITER_LIMIT_MB = 256
#: Segments stay as separate files: Whoosh reads a compound segment through a
#: BytesIO copy of each part, so every searcher held a private copy of the
#: postings (measured: a 41 MB index cost each searcher 73 MB). Plain files are
#: read through the OS page cache, shared by every worker.
WRITER_OPTIONS = {"compound": False}
#: Below this many files a second process costs more than it saves.
PARALLEL_THRESHOLD = 2_000
#: Present in the index folder from an update's start until its pointer bump.
PENDING_UPDATE = ".update-pending"


class BuildError(IndexStoreError):
    """A build or update did not complete; the live index is unchanged."""


@dataclass
class BuildReport:
    indexed: int
    errors: list[ArticleError]
    seconds: float
    pointer: Pointer

    @property
    def docs_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    seconds: float = 0.0
    pointer: Pointer | None = None
    rebuilt: BuildReport | None = None

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def document_for(article: Article, digest: str) -> dict[str, Any]:
    """Map an article to the index's fields, indexing repeated text only once."""
    title_key = " ".join(article.title.lower().split())
    question = article.question if " ".join(article.question.lower().split()) != title_key else ""
    alt_title = article.article_title
    if alt_title and " ".join(alt_title.lower().split()) not in (title_key, " ".join(question.lower().split())):
        question = f"{question}\n{alt_title}".strip()
    date = dt.datetime.combine(article.date, dt.time()) if article.date else None
    doc: dict[str, Any] = {
        "path": article.source,
        "content_hash": digest,
        "article_id": article.id,
        "url": article.url,
        "title": article.title,
        "question": question,
        "answer": plain_text(article.answer),
        "keywords": ",".join(article.keywords),
        "keyword_text": " ; ".join(article.keywords),
        "completion": "\n".join([article.title, *article.keywords]),
        "subject": article.subject,
        "article": pack_article(article.to_dict()),
    }
    if date is not None:
        doc["date"] = date
    return doc


def build_index(
    corpus: Path,
    index: Path,
    *,
    workers: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    lock_timeout: float = 30.0,
    semantic: bool | None = None,
) -> BuildReport:
    """Index the whole corpus into a new generation and make it live.

    :param workers: writer processes; ``None`` picks 2 for large corpora, else 1.
    :param strict: fail (and keep the old index) if any article is bad.
    :param progress: called with the number of files (then articles embedded) just handled.
    :param on_total: called with the amount of work ahead, again if embedding adds some.
    :param semantic: also store article vectors for semantic ranking; ``None``
        does what the live index does (off for a first build).
    :raises BuildError: nothing was swapped in; the message says why.
    """
    started = time.perf_counter()
    store = IndexStore(index)
    with store.write_lock(lock_timeout):
        files, _, errors = scan_files(corpus)
        if on_total:
            on_total(len(files))
        workers = workers or (2 if len(files) >= PARALLEL_THRESHOLD else 1)
        live = store.pointer()
        live_dir = store.root / live.dir if live is not None else None
        if semantic is None:
            semantic = live_dir is not None and (live_dir / VECTORS_FILE).exists()
        if semantic:
            try:
                load_encoder()  # fail now, before minutes of indexing, if the model is missing
                require_fitting()
            except SemanticUnavailable as error:
                raise BuildError(str(error)) from None
        build_dir = store.new_build_dir()
        try:
            texts: dict[str, str] | None = {} if semantic else None
            indexed = _write_generation(build_dir, files, errors, workers, progress, texts)
            _check_outcome(indexed, errors, strict, corpus)
            if texts is not None:
                _embed(build_dir, texts, live_dir, progress, lambda more: on_total and on_total(len(files) + more), store.root / PIECES_CACHE_FILE)
            pointer = store.publish(build_dir, indexed)
        except BaseException as error:
            store.discard(build_dir)
            if is_disk_full(error):
                raise BuildError(f"the disk holding {index} is full; free space and build again (the live index is unchanged)") from None
            raise
    errors.sort(key=lambda item: item.source)
    return BuildReport(indexed, errors, time.perf_counter() - started, pointer)


def _write_generation(
    build_dir: Path,
    files: list[CorpusFile],
    errors: list[ArticleError],
    workers: int,
    progress: Progress | None,
    texts: dict[str, str] | None = None,
) -> int:
    """Index ``files`` into a new Whoosh index in ``build_dir``; collect what to embed into ``texts``."""
    ix = whoosh_index.create_in(str(build_dir), make_schema())
    options: dict[str, Any] = {"limitmb": WRITER_LIMIT_MB, **WRITER_OPTIONS}
    if workers > 1:
        options.update(procs=workers, multisegment=True)
    writer = ix.writer(**options)
    seen_ids: dict[int, str] = {}
    seen_urls: dict[str, str] = {}
    ledger = FileLedger()
    vocabulary = Vocabulary()
    try:
        for file, item in zip(files, read_all(files)):
            if progress:
                progress(1)
            if isinstance(item, ArticleError):
                errors.append(item)
                continue
            article, digest = item
            clash = duplicate_of(article, seen_ids, seen_urls)
            if clash:
                errors.append(clash)
                continue
            seen_ids[article.id] = seen_urls[article.url] = article.source
            doc = document_for(article, digest)
            writer.add_document(**doc)
            vocabulary.add((doc["title"], doc["answer"]))
            ledger.set(file.relpath, _seen(file, digest))
            if texts is not None:
                texts[digest] = embedding_text(article.title, article.question, doc["answer"])
    except BaseException:
        _abandon(writer)
        raise
    _commit(writer)
    vocabulary.save(build_dir, ix.latest_generation())
    _save_ledger(ix, ledger)
    ix.close()
    return len(ledger)


#: Articles per task when embedding in several processes.
EMBED_CHUNK = 64


def _embed(
    build_dir: Path,
    texts: dict[str, str],
    live_dir: Path | None,
    progress: Progress | None,
    on_more: Callable[[int], Any],
    pieces_cache: Path,
) -> None:
    """Write the vectors of ``texts`` (content hash -> text), reusing the live index's for unchanged
    articles, and the query encoder fitted to them."""
    encoder = load_encoder()
    vectors = ArticleVectors(encoder.name)
    previous = ArticleVectors.load(live_dir) if live_dir is not None else None
    if previous is not None and previous.model == encoder.name:
        vectors.rows = {digest: previous.rows[digest] for digest in texts if digest in previous}
    todo = [digest for digest in texts if digest not in vectors]
    on_more(len(todo))
    chunks = [todo[start : start + EMBED_CHUNK] for start in range(0, len(todo), EMBED_CHUNK)]
    work = [[texts[digest] for digest in chunk] for chunk in chunks]
    processes = min(os.cpu_count() or 1, len(chunks))
    # Forked workers share the parent's loaded model; each embeds whole chunks.
    with multiprocessing.get_context("fork").Pool(processes) if processes > 1 else contextlib.nullcontext() as pool:
        for chunk, found in zip(chunks, pool.imap(_encode, work) if pool else map(encoder.encode, work)):
            vectors.add(chunk, found)
            if progress:
                progress(len(chunk))
    vectors.save(build_dir)
    _fit_query_encoder(build_dir, texts, vectors, pieces_cache)


def _fit_query_encoder(folder: Path, texts: dict[str, str], vectors: ArticleVectors, pieces_cache: Path) -> None:
    """Fit and save the encoder that embeds queries in microseconds instead of the model's
    milliseconds (indexer/query_encoder.py), to ``texts`` (content hash -> text) and their vectors."""
    import numpy as np

    matrix = np.array([vectors.rows[digest] for digest in texts], dtype=np.float32).reshape(len(texts), -1)
    fit_query_encoder(load_encoder(), list(texts.values()), matrix, cache=pieces_cache).save(folder)


def _encode(texts: list[str]) -> Any:
    return load_encoder().encode(texts)


def _check_outcome(indexed: int, errors: list[ArticleError], strict: bool, corpus: Path) -> None:
    if strict and errors:
        raise BuildError(f"{len(errors)} bad article(s) and --strict is set; fix them (see 'article-search index check') and build again")
    if indexed == 0:
        raise BuildError(f"no article in {corpus} could be indexed; check --corpus (the live index is unchanged)")


def update_index(
    corpus: Path,
    index: Path,
    *,
    strict: bool = False,
    lock_timeout: float = 30.0,
    progress: Progress | None = None,
) -> UpdateReport:
    """Re-index only the files added, changed or removed since the index was written.

    With no index yet (or one of an older schema), this does a full build.
    """
    store = IndexStore(index)
    pointer = store.pointer()
    if pointer is None or pointer.schema_version != SCHEMA_VERSION:
        report = UpdateReport()
        report.rebuilt = build_index(corpus, index, strict=strict, progress=progress, lock_timeout=lock_timeout)
        report.errors, report.pointer, report.seconds = report.rebuilt.errors, report.rebuilt.pointer, report.rebuilt.seconds
        return report
    started = time.perf_counter()
    with store.write_lock(lock_timeout):
        pointer = store.require_pointer()  # a build may have swapped it while we waited
        ix = store.open(pointer)
        # Readers reopen only when CURRENT's counter moves: an update killed after Whoosh
        # committed but before the bump would leave them on the old copy for good, so an
        # update marks its commit as pending and the next update bumps for it.
        pending = store.root / PENDING_UPDATE
        try:
            interrupted = pending.exists()
            pending.touch()
            report = _apply_changes(ix, corpus, strict)
            if report.touched or interrupted:
                report.pointer = store.bump(pointer, ix.doc_count())
            else:
                report.pointer = pointer
            pending.unlink()
        except OSError as error:
            if is_disk_full(error):
                raise BuildError(f"the disk holding {index} is full; free space and update again (the live index is unchanged)") from None
            raise
        finally:
            ix.close()
    report.seconds = time.perf_counter() - started
    return report


def _commit(writer: IndexWriter, **options: Any) -> None:
    """Commit; if that fails part-way, close what the writer holds and release its lock."""
    try:
        writer.commit(**options)
    except BaseException:
        _abandon(writer)
        raise


def _abandon(writer: IndexWriter) -> None:
    """Cancel a writer, even one whose files can no longer be written.

    Whoosh's cancel() stops at its first error (a full disk fails it too), so
    its two steps are taken one by one: close the segment's files, then the
    writer's searcher, temporary storage and lock.
    """
    for step in (writer._close_segment, writer._finish):
        with contextlib.suppress(Exception):
            step()


def _seen(file: CorpusFile, digest: str) -> Seen:
    return (*file.signature, digest)


def _save_ledger(ix: whoosh_index.Index, ledger: FileLedger) -> None:
    """Record what this commit indexed; if that fails, the next update just hashes every file."""
    with contextlib.suppress(OSError):
        ledger.save(Path(ix.storage.folder), ix.latest_generation())


def _ledger_from_columns(ix: whoosh_index.Index) -> FileLedger:
    """Rebuild a ledger from the index's path and hash columns, with no stat: every file gets hashed."""
    with ix.reader() as reader:
        paths, hashes = reader.column_reader("path"), reader.column_reader("content_hash")
        return FileLedger.of((paths[docnum], (-1, -1, -1, hashes[docnum])) for docnum in reader.all_doc_ids())


def _apply_changes(ix: whoosh_index.Index, corpus: Path, strict: bool) -> UpdateReport:
    report = UpdateReport()
    ledger = FileLedger.load(Path(ix.storage.folder), ix.latest_generation())
    trusted = ledger is not None
    if ledger is None:
        ledger = _ledger_from_columns(ix)
    # Files whose stat matches the ledger are skipped inside the scan: the rest may have changed.
    files, paths, report.errors = scan_files(corpus, ledger.unchanged_check() if trusted else None)
    skipped = len(paths) - len(files)
    if skipped + sum(file.relpath in ledger for file in files) == len(ledger):
        gone: list[str] = []  # every recorded file was seen again
    else:
        on_disk = set(paths)
        gone = [path for path in ledger if path not in on_disk]
    changed: list[tuple[CorpusFile, Article, str]] = []
    restated = False
    for file in files:
        known = ledger.get(file.relpath)
        if known and known[:3] == file.signature:
            continue  # same size and times as when indexed (an untrusted ledger's files all get here)
        try:
            data = read_bytes(file)
            digest = content_hash(data)
            if known and known[3] == digest:
                ledger.set(file.relpath, _seen(file, digest))  # touched, not changed
                restated = True
                continue
            changed.append((file, parse_bytes(file, data), digest))
        except ArticleError as error:
            report.errors.append(error)  # the last good version stays indexed
    ids, urls = _owners(ix, [article for _, article, _ in changed], set(gone))
    pending: list[tuple[CorpusFile, Article, str]] = []
    for file, article, digest in changed:
        clash = duplicate_of(article, ids, urls)
        if clash:
            report.errors.append(clash)
            continue
        ids[article.id] = urls[article.url] = article.source
        pending.append((file, article, digest))
    if strict and report.errors:
        raise BuildError(f"{len(report.errors)} bad article(s) and --strict is set; nothing was updated")
    report.errors.sort(key=lambda item: item.source)
    folder = Path(ix.storage.folder)
    vocabulary = Vocabulary.load(folder)
    healed = vocabulary is None or vocabulary.commit != ix.latest_generation()
    if healed:
        vocabulary = _vocabulary_from_index(ix)  # only after a crash or by an older version
    assert vocabulary is not None
    if not pending and not gone:
        if healed:
            with contextlib.suppress(OSError):
                vocabulary.save(folder, ix.latest_generation())
        if restated or not trusted:
            _save_ledger(ix, ledger)
        return report
    replaced = [*gone, *(file.relpath for file, _, _ in pending if file.relpath in ledger)]
    docs = [document_for(article, digest) for _, article, digest in pending]
    vectors = _vectors_for_update(folder, pending, docs, [seen[3] for seen in map(ledger.get, replaced) if seen])
    _forget_replaced(ix, vocabulary, replaced)
    writer: IndexWriter = ix.writer(**WRITER_OPTIONS)
    try:
        for path in gone:
            writer.delete_by_term("path", path)
            report.removed.append(path)
            ledger.drop(path)
        for (file, article, digest), doc in zip(pending, docs):
            writer.update_document(**doc)
            vocabulary.add((doc["title"], doc["answer"]))
            (report.changed if file.relpath in ledger else report.added).append(article.source)
            ledger.set(file.relpath, _seen(file, digest))
    except BaseException:
        _abandon(writer)
        raise
    # Segments are merged by size tier: a small update commits in milliseconds.
    _commit(writer, mergetype=merge_by_tier)
    # The commit is made: a failure to record it only makes the next update slower.
    with contextlib.suppress(OSError):
        vocabulary.save(folder, ix.latest_generation())
        if vectors is not None:
            # A refit goes first: searchers lay out again when the vectors file changes, and so take both.
            if pending and due_for_refit(folder, len(pending)):
                _refit_query_encoder(ix, folder, vectors)
            vectors.save(folder)  # (if this fails, the new articles rank by words alone until the next build)
    _save_ledger(ix, ledger)
    return report


def _refit_query_encoder(ix: whoosh_index.Index, folder: Path, vectors: ArticleVectors) -> None:
    """Fit the query encoder again to every indexed article, as a build would.

    Run once the articles embedded since the last fit are a tenth of the index:
    a fit that has not seen them reads their words less well. A failure keeps
    the old fit, which still works.
    """
    try:
        texts: dict[str, str] = {}
        with ix.reader() as reader:
            hashes = reader.column_reader("content_hash")
            for docnum, fields in reader.iter_docs():
                digest = hashes[docnum]
                if digest in vectors and digest not in texts:
                    data = unpack_article(fields)
                    texts[digest] = embedding_text(data.get("title", ""), data.get("question", ""), plain_text(data.get("answer", "")))
        _fit_query_encoder(folder, texts, vectors, folder.parent / PIECES_CACHE_FILE)
    except Exception as error:  # the update itself is committed; keep it
        log.warning("the query encoder was not refitted (it keeps its earlier fit): %s", error)


def _vectors_for_update(
    folder: Path, pending: list[tuple[CorpusFile, Article, str]], docs: list[dict[str, Any]], replaced: list[str]
) -> ArticleVectors | None:
    """The index's article vectors with the replaced ones dropped and the new ones added; None if it keeps none.

    Embedding happens before anything is written, so a missing model fails the
    update with the index untouched. (An update that only deletes needs no model.)
    """
    if not (folder / VECTORS_FILE).exists():
        return None
    vectors = ArticleVectors.load(folder)
    if vectors is None:
        raise BuildError("the index's article vectors are unreadable; rebuild it with `index build --semantic`")
    vectors.discard(replaced)
    if pending:
        try:
            encoder = load_encoder()
        except SemanticUnavailable as error:
            raise BuildError(f"this index ranks by meaning too: {error}") from None
        if vectors.model != encoder.name:
            raise BuildError(f"the index's article vectors come from {vectors.model}, not {encoder.name}; rebuild it with `index build --semantic`")
        texts = [embedding_text(article.title, article.question, doc["answer"]) for (_, article, _), doc in zip(pending, docs)]
        vectors.add([digest for _, _, digest in pending], encoder.encode(texts))
    return vectors


def _spelled(data: dict[str, Any]) -> tuple[str, str]:
    """The texts of a stored article that spelling help draws on, as they were indexed."""
    return data.get("title", ""), plain_text(data.get("answer", ""))


def _forget_replaced(ix: whoosh_index.Index, vocabulary: Vocabulary, paths: list[str]) -> None:
    """Take the words of the indexed versions of ``paths`` out of the vocabulary."""
    with ix.searcher() as searcher:
        for path in paths:
            fields = searcher.document(path=path)
            if fields:
                vocabulary.remove(_spelled(unpack_article(fields)))


def _vocabulary_from_index(ix: whoosh_index.Index) -> Vocabulary:
    """Count the words of every stored article (when the saved table is missing or stale)."""
    vocabulary = Vocabulary()
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            vocabulary.add(_spelled(unpack_article(fields)))
    return vocabulary


def _owners(ix: whoosh_index.Index, articles: list[Article], gone: set[str]) -> tuple[dict[int, str], dict[str, str]]:
    """Which remaining files already hold the ids and urls of ``articles`` (value -> path).

    Looked up in the index for just these values, so an update reads nothing
    of the unchanged articles. A deleted or renamed file frees its id and url.
    """
    ids: dict[int, str] = {}
    urls: dict[str, str] = {}
    if not articles:
        return ids, urls
    with ix.searcher() as searcher:
        paths = searcher.reader().column_reader("path")

        def holder(**term: Any) -> str | None:
            docnum = searcher.document_number(**term)
            return paths[docnum] if docnum is not None and paths[docnum] not in gone else None

        for article in articles:
            if id_holder := holder(article_id=article.id):
                ids[article.id] = id_holder
            if url_holder := holder(url=article.url):
                urls[article.url] = url_holder
    return ids, urls
