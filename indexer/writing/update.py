"""Incremental updates: re-index only the files added, changed or removed.

Only files whose stat differs from the ledger (:mod:`indexer.index.ledger`)
are read, only those whose content hash changed are parsed, and the changes
go into the live generation through one Whoosh commit, merged by size tier.
Holds the index folder's write lock, so writers take turns.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from whoosh import index as whoosh_index
from whoosh.writing import IndexWriter

from indexer.corpus.articles import Article, ArticleError
from indexer.corpus.curation import read_curation
from indexer.corpus.lint import LintWarning
from indexer.corpus.files import (
    CorpusFile,
    ReservedBy,
    content_hash,
    duplicate_of,
    parse_bytes,
    read_bytes,
    scan_files,
)
from indexer.index.curated import save_curation
from indexer.index.documents import document_for, spelled_texts
from indexer.index.ledger import FileLedger
from indexer.index.merging import merge_by_tier
from indexer.index.schema import SCHEMA_VERSION, unpack_article
from indexer.index.disk import disk_problem
from indexer.index.files import record_files, set_file_list_aside
from indexer.index.store import IndexStore, Pointer
from indexer.index.vocabulary import Vocabulary
from indexer.semantic.fitting import refit_query_encoder
from indexer.semantic.model import SemanticUnavailable, embedding_text, load_encoder
from indexer.semantic.neighbours import write_neighbours
from indexer.semantic.query_encoder import due_for_refit
from indexer.semantic.vectors import VECTORS_FILE, ArticleVectors
from indexer.writing.build import (
    BuildError,
    BuildReport,
    Progress,
    build_index,
    has_vectors,
)
from indexer.writing.linting import lint_changes
from indexer.writing.segment_caches import write_missing
from indexer.writing.writer import (
    WRITER_OPTIONS,
    abandon,
    commit,
    ledger_from_columns,
    save_ledger,
    seen,
)

__all__ = ["UpdateReport", "update_index", "PENDING_UPDATE"]

#: Present in the index folder from an update's start until its pointer bump.
PENDING_UPDATE = ".update-pending"



@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    seconds: float = 0.0
    pointer: Pointer | None = None
    rebuilt: BuildReport | None = None
    curated: bool = False  # synonyms.txt or pins.yaml changed, and searches now use the new ones
    warnings: list[LintWarning] = field(default_factory=list)  # content lint of the added and changed articles

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def update_index(
    corpus: Path,
    index: Path,
    *,
    strict: bool = False,
    lock_timeout: float = 30.0,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    semantic: bool | None = None,
    semantic_default: Callable[[], bool] | None = None,
    reserved_by: ReservedBy | None = None,
) -> UpdateReport:
    """Re-index only the files added, changed or removed since the index was written.

    With no index yet (or one of an older schema), or when ``semantic`` asks
    for another ranking than the live index has, this does a full build
    (:func:`~indexer.writing.build.build_index`, which says what ``semantic``
    and ``semantic_default`` mean). Otherwise an index that ranks by meaning
    embeds the new and changed articles, and one that ranks by words alone
    stays so.
    """
    store = IndexStore(index)
    pointer = store.pointer()
    other_ranking = semantic is not None and pointer is not None and semantic != has_vectors(index)
    if pointer is None or pointer.schema_version != SCHEMA_VERSION or other_ranking:
        report = UpdateReport()
        report.rebuilt = build_index(
            corpus, index, strict=strict, progress=progress, on_total=on_total, lock_timeout=lock_timeout,
            semantic=semantic, semantic_default=semantic_default, reserved_by=reserved_by,
        )
        report.errors, report.pointer, report.seconds = report.rebuilt.errors, report.rebuilt.pointer, report.rebuilt.seconds
        report.warnings = report.rebuilt.warnings
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
            set_file_list_aside(Path(ix.storage.folder))  # (what is written next changes the listed files)
            report, committed = _apply_changes(ix, corpus, strict, reserved_by)
            announce = bool(report.touched or report.curated or interrupted)
            # The bump comes straight after the commit: a searcher opened between the two reads
            # the new articles before they are announced, and waits for this (SearcherPool).
            report.pointer = store.bump(pointer, ix.doc_count(), ix.latest_generation()) if announce else pointer
            pending.unlink()
            # The new segment's files (and an older index's, once: indexer.index.segment_files): after the bump,
            # since searchers look for them at each query and read Whoosh's postings meanwhile.
            with contextlib.suppress(OSError), ix.reader() as reader:
                write_missing(Path(ix.storage.folder), reader, pieces=(Path(ix.storage.folder) / VECTORS_FILE).exists())
            report.warnings = lint_changes(ix, committed.articles)
            if committed.ledger is not None:
                save_ledger(ix, committed.ledger)
            with contextlib.suppress(OSError):  # a list left aside is not used: see indexer.index.files
                record_files(Path(ix.storage.folder), ix.latest_generation())
        except OSError as error:
            problem = disk_problem(error, index, "update again")
            if problem is not None:
                raise BuildError(problem) from None
            raise
        finally:
            ix.close()
    if semantic is not None:
        store.record_ranking_choice(semantic)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Committed:
    """What is recorded after an update's bump: files only writers read, and the articles to lint."""

    ledger: FileLedger | None = None  # to save (None: unchanged)
    articles: list[Article] = field(default_factory=list)


def _apply_changes(
    ix: whoosh_index.Index, corpus: Path, strict: bool, reserved_by: ReservedBy | None
) -> tuple[UpdateReport, _Committed]:
    """Commit the corpus's changes into ``ix``; every file searchers read is written before the commit."""
    report = UpdateReport()
    ledger = FileLedger.load(Path(ix.storage.folder), ix.latest_generation())
    trusted = ledger is not None
    if ledger is None:
        ledger = ledger_from_columns(ix)
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
                ledger.set(file.relpath, seen(file, digest))  # touched, not changed
                restated = True
                continue
            changed.append((file, parse_bytes(file, data), digest))
        except ArticleError as error:
            report.errors.append(error)  # the last good version stays indexed
    ids, urls = _owners(ix, [article for _, article, _ in changed], set(gone))
    pending: list[tuple[CorpusFile, Article, str]] = []
    for file, article, digest in changed:
        clash = duplicate_of(article, ids, urls, reserved_by)
        if clash:
            report.errors.append(clash)
            continue
        ids[article.id] = urls[article.url] = article.source
        pending.append((file, article, digest))
    curation, bad_lines = read_curation(corpus)
    report.errors.extend(bad_lines)
    if strict and report.errors:
        raise BuildError(f"{len(report.errors)} bad article(s) and --strict is set; nothing was updated")
    report.errors.sort(key=lambda item: item.source)
    folder = Path(ix.storage.folder)
    report.curated = save_curation(folder, curation)
    vocabulary = Vocabulary.load(folder)
    healed = vocabulary is None or vocabulary.commit != ix.latest_generation()
    if healed:
        vocabulary = _vocabulary_from_index(ix)  # only after a crash or by an older version
    assert vocabulary is not None
    if not pending and not gone:
        if healed:
            with contextlib.suppress(OSError):
                vocabulary.save(folder, ix.latest_generation())
        return report, _Committed(ledger if restated or not trusted else None)
    replaced = [*gone, *(file.relpath for file, _, _ in pending if file.relpath in ledger)]
    docs = [document_for(article, digest) for _, article, digest in pending]
    replaced_hashes = {seen[3] for seen in map(ledger.get, replaced) if seen}
    vectors, texts = _vectors_for_update(ix, folder, pending, docs)
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
            ledger.set(file.relpath, seen(file, digest))
        # What searchers read beside the segments goes in before the commit, so that the bump
        # can follow it at once. (Readers take a new vocabulary only when the pointer moves, and
        # the vectors file holds both sides' articles: searchers still on the old commit find theirs.)
        # A failure here only costs suggestions or meaning for the new articles until the next build.
        with contextlib.suppress(OSError):
            vocabulary.save(folder, writer.generation)
            if vectors is not None:
                # A refit goes first: searchers lay out again when the vectors file changes, and so take both.
                if pending and due_for_refit(folder, len(pending)):
                    refit_query_encoder(ix, folder, vectors, added=texts, dropped=replaced_hashes)
                write_neighbours(folder, vectors)  # (before the vectors: a layout that sees them finds the graph ready)
                vectors.save(folder)
    except BaseException:
        abandon(writer)
        raise
    # Segments are merged by size tier: a small update commits in milliseconds.
    commit(writer, mergetype=merge_by_tier)
    return report, _Committed(ledger, [article for _, article, _ in pending])


def _vectors_for_update(
    ix: whoosh_index.Index, folder: Path, pending: list[tuple[CorpusFile, Article, str]], docs: list[dict[str, Any]]
) -> tuple[ArticleVectors | None, dict[str, str]]:
    """The vectors of every article on either side of this commit, and the new ones' texts by hash.

    None if the index keeps no vectors. Rows that no indexed article has any more
    (those this update's predecessor replaced) are dropped; the ones this update
    replaces stay until the next, for searchers still on the old commit.
    Embedding happens before anything is written, so a missing model fails the
    update with the index untouched. (An update that only deletes needs no model.)
    """
    if not (folder / VECTORS_FILE).exists():
        return None, {}
    vectors = ArticleVectors.load(folder)
    if vectors is None:
        raise BuildError("the index's article vectors are unreadable; rebuild it with `index build --semantic`")
    with ix.reader() as reader:
        hashes = reader.column_reader("content_hash")
        live = {hashes[docnum] for docnum in reader.all_doc_ids()}
    vectors.discard([digest for digest in vectors.rows if digest not in live])
    texts: dict[str, str] = {}
    if pending:
        try:
            encoder = load_encoder()
        except SemanticUnavailable as error:
            raise BuildError(f"this index ranks by meaning too: {error}") from None
        if vectors.model != encoder.name:
            raise BuildError(f"the index's article vectors come from {vectors.model}, not {encoder.name}; rebuild it with `index build --semantic`")
        texts = {digest: embedding_text(article.title, article.question, doc["answer"]) for (_, article, digest), doc in zip(pending, docs)}
        vectors.add(list(texts), encoder.encode(list(texts.values())))
    return vectors, texts


def _forget_replaced(ix: whoosh_index.Index, vocabulary: Vocabulary, paths: list[str]) -> None:
    """Take the words of the indexed versions of ``paths`` out of the vocabulary."""
    with ix.searcher() as searcher:
        for path in paths:
            fields = searcher.document(path=path)
            if fields:
                vocabulary.remove(spelled_texts(unpack_article(fields)))


def _vocabulary_from_index(ix: whoosh_index.Index) -> Vocabulary:
    """Count the words of every stored article (when the saved table is missing or stale)."""
    vocabulary = Vocabulary()
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            vocabulary.add(spelled_texts(unpack_article(fields)))
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
