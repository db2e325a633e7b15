"""A build's embedding: every article the build needs a vector for, on this machine's cores or a Dask cluster.

Embedding is the slow part of a build (0.1-0.2 s an article on one core), so
nothing is done twice: an article whose content hash the live index has a
vector for keeps it, one an interrupted build already embedded takes its row
from the checkpoint (:mod:`indexer.semantic.checkpoint`), and each chunk
embedded now is checkpointed as soon as it is back, in whatever order chunks
finish. Locally the chunks go to forked processes (one per core) that share
the loaded model; with a cluster, to its workers (:mod:`indexer.semantic.cluster`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator

from indexer.semantic.checkpoint import EmbeddingCheckpoint
from indexer.semantic.model import BATCH_SIZE, load_encoder
from indexer.semantic.vectors import ArticleVectors

if TYPE_CHECKING:
    import numpy as np

    from indexer.semantic.cluster import Cluster

__all__ = ["EMBED_CHUNK", "EmbeddingInterrupted", "EmbeddingReport", "chunk_size", "embed_all"]

Progress = Callable[[int], None]
#: Chunk = what one process embeds, and one checkpoint file: at most this many articles.
EMBED_CHUNK = 64
#: Chunks per process at least, so a small build also checkpoints often and keeps every core busy to its end.
CHUNKS_PER_PROCESS = 8


@dataclass
class EmbeddingReport:
    """Where a build's article vectors came from."""

    embedded: int = 0  # computed by this build
    resumed: int = 0  # from the checkpoint of a build that did not finish
    reused: int = 0  # unchanged articles' rows from the live index
    cluster: str | None = None  # the Dask scheduler's address, if the embedding ran there
    by_worker: dict[str, int] = field(default_factory=dict)  # articles each cluster worker embedded


class EmbeddingInterrupted(KeyboardInterrupt):
    """Ctrl-C while embedding; the chunks finished so far are in the checkpoint."""

    def __init__(self, kept: int, total: int, folder: Path) -> None:
        super().__init__(f"{kept} of {total} vectors kept in {folder}")
        self.kept, self.total, self.folder = kept, total, folder


def chunk_size(articles: int, processes: int) -> int:
    """Articles per chunk: :data:`EMBED_CHUNK`, smaller for a small build, never under one batch."""
    wanted = -(-articles // max(1, processes * CHUNKS_PER_PROCESS))
    return max(BATCH_SIZE, min(EMBED_CHUNK, wanted))


def embed_all(
    texts: dict[str, str],
    live_dir: Path | None,
    checkpoint_root: Path,
    progress: Progress | None = None,
    on_more: Callable[[int], Any] | None = None,
    cluster: "Cluster | None" = None,
) -> tuple[ArticleVectors, EmbeddingReport]:
    """The vector of every text in ``texts`` (content hash -> text), and where each came from.

    :param checkpoint_root: the index root, where finished chunks are kept until the build is published.
    :param on_more: called once with the number of articles still to embed.
    :raises EmbeddingInterrupted: on Ctrl-C; what was finished stays checkpointed.
    """
    encoder = load_encoder()
    vectors = ArticleVectors(encoder.name)
    report = EmbeddingReport(cluster=cluster.address if cluster else None)
    previous = ArticleVectors.load(live_dir) if live_dir is not None else None
    if previous is not None and previous.model == encoder.name:
        vectors.rows = {digest: previous.rows[digest] for digest in texts if digest in previous}
    report.reused = len(vectors)
    checkpoint = EmbeddingCheckpoint(checkpoint_root, encoder.name)
    resumed = checkpoint.load(digest for digest in texts if digest not in vectors)
    vectors.rows.update(resumed)
    report.resumed = len(resumed)
    todo = [digest for digest in texts if digest not in vectors]
    if on_more:
        on_more(len(todo))
    processes = cluster.slots() if cluster else (os.cpu_count() or 1)
    size = chunk_size(len(todo), processes)
    chunks = [todo[start : start + size] for start in range(0, len(todo), size)]
    work = [[texts[digest] for digest in chunk] for chunk in chunks]

    def finished(number: int, found: "np.ndarray", worker: str | None = None) -> None:
        checkpoint.add(chunks[number], found)  # first: a kill after this line loses nothing
        vectors.add(chunks[number], found)
        report.embedded += len(chunks[number])
        if worker is not None:
            report.by_worker[worker] = report.by_worker.get(worker, 0) + len(chunks[number])
        if progress:
            progress(len(chunks[number]))

    try:
        if cluster:
            cluster.embed(work, finished, encoder.name)
        else:
            with contextlib.closing(_embed_here(work, min(processes, len(work)))) as done:  # (closed: the pool ends at once)
                for number, found in done:
                    finished(number, found)
    except KeyboardInterrupt:
        kept = report.resumed + len(checkpoint.load(todo))  # from the files: what a rerun takes (a chunk may be kept but not yet counted)
        raise EmbeddingInterrupted(kept, len(texts) - report.reused, checkpoint.root) from None
    return vectors, report


def _embed_here(work: list[list[str]], processes: int) -> Generator[tuple[int, "np.ndarray"], None, None]:
    """(chunk number, its vectors) as chunks finish, in ``processes`` forked processes (or this one)."""
    if processes <= 1:
        encoder = load_encoder()
        for number, texts in enumerate(work):
            yield number, encoder.encode(texts)
        return
    # Forked workers share the parent's loaded model. Ctrl-C reaches them too (the terminal
    # signals the whole group): they ignore it and the pool's exit ends them, at once.
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_worker_started, initargs=(os.getpid(),)) as pool:
        yield from pool.imap_unordered(_encode, enumerate(work))


def _encode(job: tuple[int, list[str]]) -> tuple[int, Any]:
    number, texts = job
    return number, load_encoder().encode(texts)


def _worker_started(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    _one_blas_thread()


def _one_blas_thread() -> None:
    """One BLAS thread per process: the processes are the parallelism (one per core), and a
    parent that loaded numpy before the model asked for that would give each its own threads."""
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")


def _die_with(parent: int) -> None:
    """End this process when ``parent`` ends, killed or not, instead of embedding for no one."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it ended before we asked
        os._exit(1)
