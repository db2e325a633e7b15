"""Ranking by meaning at build time: embed the articles, fit the query encoder to them.

Embedding is the slow part of a build (about 0.1-0.2 s an article on one
core), so it runs in forked processes that share the loaded model, and every
article whose content hash the live index already embedded keeps its vector.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from pathlib import Path
from typing import Any, Callable

from whoosh import index as whoosh_index

from indexer.corpus.rendering import plain_text
from indexer.index.schema import unpack_article
from indexer.semantic.model import embedding_text, load_encoder
from indexer.semantic.query_encoder import PIECES_CACHE_FILE, fit_query_encoder
from indexer.semantic.vectors import ArticleVectors

log = logging.getLogger(__name__)

__all__ = ["EMBED_CHUNK", "embed_articles", "fit_and_save_query_encoder", "refit_query_encoder"]

Progress = Callable[[int], None]

#: Articles per task when embedding in several processes.
EMBED_CHUNK = 64


def embed_articles(
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
    fit_and_save_query_encoder(build_dir, texts, vectors, pieces_cache)


def fit_and_save_query_encoder(folder: Path, texts: dict[str, str], vectors: ArticleVectors, pieces_cache: Path) -> None:
    """Fit and save the encoder that embeds queries in microseconds instead of the model's
    milliseconds (indexer/query_encoder.py), to ``texts`` (content hash -> text) and their vectors."""
    import numpy as np

    matrix = np.array([vectors.rows[digest] for digest in texts], dtype=np.float32).reshape(len(texts), -1)
    fit_query_encoder(load_encoder(), list(texts.values()), matrix, cache=pieces_cache).save(folder)


def _encode(texts: list[str]) -> Any:
    return load_encoder().encode(texts)


def refit_query_encoder(
    ix: whoosh_index.Index, folder: Path, vectors: ArticleVectors,
    added: dict[str, str] | None = None, dropped: set[str] | None = None,
) -> None:
    """Fit the query encoder again to every indexed article, as a build would.

    Run once the articles embedded since the last fit are a tenth of the index:
    a fit that has not seen them reads their words less well. An update refits
    before its commit, so it names the texts it ``added`` (by hash) and the hashes
    it ``dropped``. A failure keeps the old fit, which still works.
    """
    try:
        texts: dict[str, str] = {}
        dropped = dropped or set()
        with ix.reader() as reader:
            hashes = reader.column_reader("content_hash")
            for docnum, fields in reader.iter_docs():
                digest = hashes[docnum]
                if digest in vectors and digest not in texts and digest not in dropped:
                    data = unpack_article(fields)
                    texts[digest] = embedding_text(data.get("title", ""), data.get("question", ""), plain_text(data.get("answer", "")))
        texts.update(added or {})
        fit_and_save_query_encoder(folder, texts, vectors, folder.parent / PIECES_CACHE_FILE)
    except Exception as error:  # the update itself is committed; keep it
        log.warning("the query encoder was not refitted (it keeps its earlier fit): %s", error)
