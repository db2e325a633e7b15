"""Full builds: the whole corpus into a new generation, swapped in only once committed.

A killed or failed build leaves the live index serving (:mod:`indexer.index.store`).
With ranking by meaning, the articles are embedded after the words are
indexed (:mod:`indexer.semantic.embedding`), here or on a Dask cluster, and
checkpointed as they are, so a build stopped then continues when run again. Holds the index folder's write
lock, so writers take turns; :mod:`indexer.writing.update` does the small ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from whoosh import index as whoosh_index

from indexer.corpus.articles import ArticleError
from indexer.corpus.curation import read_curation
from indexer.corpus.lint import Linter, LintWarning
from indexer.corpus.files import (
    CorpusFile,
    ReservedBy,
    duplicate_of,
    read_all,
    scan_files,
)
from indexer.index.curated import save_curation
from indexer.index.documents import document_for
from indexer.index.ledger import FileLedger
from indexer.index.schema import make_schema
from indexer.index.disk import disk_problem
from indexer.index.files import record_files
from indexer.index.store import IndexStore, IndexStoreError, Pointer
from indexer.index.vocabulary import Vocabulary
from indexer.semantic.checkpoint import clear_checkpoint
from indexer.semantic.cluster import Cluster
from indexer.semantic.embedding import EmbeddingReport, embed_all
from indexer.semantic.fitting import fit_and_save_query_encoder
from indexer.semantic.model import SemanticUnavailable, embedding_text, load_encoder
from indexer.semantic.neighbours import write_neighbours
from indexer.semantic.query_encoder import PIECES_CACHE_FILE, require_fitting
from indexer.semantic.vectors import VECTORS_FILE
from indexer.writing.segment_caches import write_missing
from indexer.writing.writer import (
    WRITER_LIMIT_MB,
    WRITER_OPTIONS,
    abandon,
    commit,
    save_ledger,
    seen,
)

__all__ = ["BuildError", "BuildReport", "build_index", "has_vectors", "Progress"]

Progress = Callable[[int], None]
#: Below this many files a second process costs more than it saves.
PARALLEL_THRESHOLD = 2_000


class BuildError(IndexStoreError):
    """A build or update did not complete; the live index is unchanged."""


@dataclass
class BuildReport:
    indexed: int
    errors: list[ArticleError]
    seconds: float
    pointer: Pointer
    warnings: list[LintWarning] = field(default_factory=list)  # content lint: counted, never a reason to fail
    embedding: EmbeddingReport | None = None  # where the vectors came from, when ranking by meaning

    @property
    def docs_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0


def build_index(
    corpus: Path,
    index: Path,
    *,
    workers: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    lock_timeout: float = 30.0,
    semantic: bool | None = None,
    semantic_default: Callable[[], bool] | None = None,
    reserved_by: ReservedBy | None = None,
    cluster: str | None = None,
) -> BuildReport:
    """Index the whole corpus into a new generation and make it live.

    :param workers: writer processes; ``None`` picks 2 for large corpora, else 1.
    :param strict: fail (and keep the old index) if any article is bad.
    :param progress: called with the number of files (then articles embedded) just handled.
    :param on_total: called with the amount of work ahead, again if embedding adds some.
    :param on_stage: called with what the build does next, in a few words (a progress bar's
        label): after the embedding, linking the graph and fitting the query encoder take
        minutes at 100,000 articles, with no article to count.
    :param semantic: also store article vectors, to rank by meaning as well as
        words; True or False is remembered for later builds and updates. ``None``
        does what was last asked for this index, else what the live index does,
        else what ``semantic_default`` says (a first build: words alone).
    :param reserved_by: which of the site's routes would hide an article at a url
        (``article-search`` passes the web app's); such articles are skipped and reported.
    :param cluster: a Dask scheduler's address (``tcp://HOST:8786``) to embed the articles on
        its workers instead of here; reached first, so a wrong address fails in seconds.
    :raises BuildError: nothing was swapped in; the message says why.
    """
    started = time.perf_counter()
    stage = on_stage or (lambda _: None)
    store = IndexStore(index)
    with store.write_lock(lock_timeout):
        files, _, errors = scan_files(corpus)
        if on_total:
            on_total(len(files))
        workers = workers or (2 if len(files) >= PARALLEL_THRESHOLD else 1)
        live = store.pointer()
        live_dir = store.root / live.dir if live is not None else None
        chosen = semantic
        if semantic is None:
            semantic = _semantic_as_before(store, live_dir, semantic_default)
        if semantic:
            try:
                load_encoder()  # fail now, before minutes of indexing, if the model is missing
                require_fitting()
            except SemanticUnavailable as error:
                raise BuildError(str(error)) from None
        dask = Cluster(cluster) if semantic and cluster else None  # reached now, before minutes of indexing
        embedding: EmbeddingReport | None = None
        build_dir = store.new_build_dir()
        try:
            texts: dict[str, str] | None = {} if semantic else None
            linter = Linter()
            indexed = _write_generation(build_dir, files, errors, workers, progress, texts, reserved_by, linter)
            curation, bad_lines = read_curation(corpus)
            errors.extend(bad_lines)
            _check_outcome(indexed, errors, strict, corpus)
            save_curation(build_dir, curation)
            if texts is not None:
                def more(count: int) -> None:
                    if on_total:
                        on_total(len(files) + count)

                stage("embedding")
                vectors, embedding = embed_all(texts, live_dir, store.root, progress, more, dask)
                vectors.save(build_dir)
                stage("linking neighbours")
                write_neighbours(build_dir, vectors)
                stage("fitting the query encoder")
                fit_and_save_query_encoder(build_dir, texts, vectors, store.root / PIECES_CACHE_FILE)
            commit = whoosh_index.open_dir(str(build_dir)).latest_generation()
            record_files(build_dir, commit)
            pointer = store.publish(build_dir, indexed, commit)
            if texts is not None:
                clear_checkpoint(store.root)  # the generation holds every vector the checkpoint had
            if chosen is not None:
                store.record_ranking_choice(chosen)
        except BaseException as error:
            store.discard(build_dir)
            problem = disk_problem(error, index, "build again")
            if problem is not None:
                raise BuildError(problem) from None
            raise
        finally:
            if dask is not None:
                dask.close()
    errors.sort(key=lambda item: item.source)
    return BuildReport(indexed, errors, time.perf_counter() - started, pointer, linter.warnings(), embedding)


def _semantic_as_before(store: IndexStore, live_dir: Path | None, default: Callable[[], bool] | None) -> bool:
    """Rank by meaning as last asked for, else as the live index does; an index ranking by words
    alone that was never asked to (built before meaning was the default) follows ``default``."""
    recorded = store.ranking_choice()
    if recorded is not None:
        return recorded
    if live_dir is not None and (live_dir / VECTORS_FILE).exists():
        return True
    return default() if default is not None else False


def has_vectors(index: Path) -> bool:
    """True when the live generation ranks by meaning as well as words."""
    store = IndexStore(index)
    pointer = store.pointer()
    return pointer is not None and (store.root / pointer.dir / VECTORS_FILE).exists()


def _write_generation(
    build_dir: Path,
    files: list[CorpusFile],
    errors: list[ArticleError],
    workers: int,
    progress: Progress | None,
    texts: dict[str, str] | None = None,
    reserved_by: ReservedBy | None = None,
    linter: Linter | None = None,
) -> int:
    """Index ``files`` into a new Whoosh index in ``build_dir``; collect what to embed into ``texts``
    and give each indexed article to ``linter``."""
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
            clash = duplicate_of(article, seen_ids, seen_urls, reserved_by)
            if clash:
                errors.append(clash)
                continue
            seen_ids[article.id] = seen_urls[article.url] = article.source
            doc = document_for(article, digest)
            writer.add_document(**doc)
            vocabulary.add((doc["title"], doc["answer"]))
            ledger.set(file.relpath, seen(file, digest))
            if linter is not None:
                linter.add(article, doc["answer"])
            if texts is not None:
                texts[digest] = embedding_text(article.title, article.question, doc["answer"])
    except BaseException:
        abandon(writer)
        raise
    commit(writer)
    with ix.reader() as reader:  # (each segment's postings as arrays, and its results ready: indexer.writing.segment_caches)
        write_missing(build_dir, reader, workers, pieces=texts is not None)
    vocabulary.save(build_dir, ix.latest_generation())
    save_ledger(ix, ledger)
    ix.close()
    return len(ledger)


def _check_outcome(indexed: int, errors: list[ArticleError], strict: bool, corpus: Path) -> None:
    if strict and errors:
        raise BuildError(f"{len(errors)} bad article(s) and --strict is set; fix them (see 'article-search index check') and build again")
    if indexed == 0:
        raise BuildError(f"no article in {corpus} could be indexed; check --corpus (the live index is unchanged)")
