"""Ranking by meaning at build and update time: fit the query encoder to the articles' vectors.

The vectors themselves come from :mod:`indexer.semantic.embedding`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from whoosh import index as whoosh_index

from indexer.corpus.rendering import plain_text
from indexer.index.schema import unpack_article
from indexer.semantic.model import embedding_text, load_encoder
from indexer.semantic.query_encoder import PIECES_CACHE_FILE, fit_query_encoder
from indexer.semantic.vectors import ArticleVectors

log = logging.getLogger(__name__)

__all__ = ["fit_and_save_query_encoder", "refit_query_encoder"]


def fit_and_save_query_encoder(folder: Path, texts: dict[str, str], vectors: ArticleVectors, pieces_cache: Path) -> None:
    """Fit and save the encoder that embeds queries in microseconds instead of the model's
    milliseconds (indexer/query_encoder.py), to ``texts`` (content hash -> text) and their vectors."""
    import numpy as np

    matrix = np.array([vectors.rows[digest] for digest in texts], dtype=np.float32).reshape(len(texts), -1)
    fit_query_encoder(load_encoder(), list(texts.values()), matrix, cache=pieces_cache).save(folder)


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
