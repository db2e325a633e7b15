"""article-search's indexer: Markdown Q&A articles in, a Whoosh index out, searches answered.

The pipeline, one module per step::

    corpus.py     find *.md files, read and hash them, refuse links that leave the corpus
    articles.py   parse YAML front matter into a frozen Article (or an ArticleError with path and line)
    rendering.py  Markdown -> sanitised HTML for pages, -> plain text for the index
    analysis.py   words -> terms (tokenise, lower-case, fold accents, stop words, Snowball stems)
    schema.py     which fields are searched, stored, sorted
    store.py      index generations behind an atomic pointer, and the writer lock
    build.py      full builds (a new generation) and incremental updates (content hashes)
    ledger.py     what each corpus file's stat was when indexed, so updates read only changed files
    merging.py    when an update merges index segments (by size tier)
    vocabulary.py the corpus's unstemmed words and their counts, for spelling help
    embedding.py  texts -> sentence vectors (all-MiniLM-L6-v2 run with numpy; optional)
    dense.py      article vectors stored per generation, laid out for a searcher
    query.py      what a student types -> a Whoosh query, malformed syntax as plain words
    ranking.py    BM25F, and its fusion with similarity of meaning when the index has vectors
    search.py     SearchService: per-thread searchers, ranking, facets, snippets, caching
    filters.py    subject and year filters (OR within, AND across), facet counts, newest first
    highlight.py  <mark> query terms in titles, snippets and pages, everything else escaped
    spelling.py   did-you-mean, unmatched words, completions
    watch.py      keep the index current as files change
    publish.py    copy the live generation to replicas, pointer last
    cli.py        the `index` and `search` commands (a thin shell over the above)

Nothing here imports the web app; the web app uses :class:`SearchService` only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it. Imported on first use (PEP 562), so a
#: command such as `index update` loads neither the searcher nor Markdown.
_EXPORTS = {
    "Article": "corpus.articles",
    "ArticleError": "corpus.articles",
    "RelatedLink": "corpus.articles",
    "parse_article": "corpus.articles",
    "BuildError": "writing.build",
    "BuildReport": "writing.build",
    "UpdateReport": "writing.update",
    "build_index": "writing.build",
    "update_index": "writing.update",
    "CorpusError": "corpus.files",
    "load_corpus": "corpus.files",
    "plain_text": "corpus.rendering",
    "render_markdown": "corpus.rendering",
    "Hit": "search.results",
    "SearchError": "search.service",
    "SearchResults": "search.results",
    "SearchService": "search.service",
    "IndexLocked": "index.store",
    "IndexMissing": "index.store",
    "IndexStore": "index.store",
    "IndexStoreError": "index.store",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from indexer.corpus.articles import Article, ArticleError, RelatedLink, parse_article
    from indexer.writing.build import BuildError, BuildReport, build_index
    from indexer.writing.update import UpdateReport, update_index
    from indexer.corpus.files import CorpusError, load_corpus
    from indexer.corpus.rendering import plain_text, render_markdown
    from indexer.search.results import Hit, SearchResults
    from indexer.search.service import SearchError, SearchService
    from indexer.index.store import IndexLocked, IndexMissing, IndexStore, IndexStoreError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
