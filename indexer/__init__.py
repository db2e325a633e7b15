"""article-search's indexer: Markdown Q&A articles in, a Whoosh index out, searches answered.

The pipeline, one folder per stage and one idea per module::

    corpus/     what the maintainers write
      files.py      find *.md files, read and hash them, refuse links that leave the corpus
      articles.py   parse YAML front matter into a frozen Article (or an ArticleError with path and line)
      rendering.py  Markdown -> sanitised HTML for pages, -> plain text for the index
      curation.py   synonyms.txt and pins.yaml at the corpus root
      lint.py       content warnings: broken related links, duplicate titles, missing subjects, short answers
      checking.py   `index check`: bad files and content warnings, without indexing
    index/      what is on disk
      analysis.py   words -> terms (tokenise, lower-case, fold accents, stop words, Snowball stems)
      schema.py     which fields are searched, stored, sorted
      documents.py  an article -> its index fields
      store.py      index generations behind an atomic pointer, the writer lock, remembered settings
      atomic.py     replace a file atomically and durably
      manifest.py   a snapshot's file list with hashes, checked before it is served
      snapshots.py  copy the live generation out for replicas, pointer last
      ledger.py     each corpus file's stat when indexed, so updates read only changed files
      vocabulary.py the corpus's unstemmed words and their counts, for spelling help
      merging.py    when an update merges index segments (by size tier)
      curated.py    the curation as each generation keeps it
      held.py       a searcher with every file it reads held open
      files.py      each generation's file list (sizes, SHA-256) for spotting damage
      verify.py     damaged files refused when a generation opens, and `index verify`
      disk.py       a full or failing disk turned into one line that says what to do
    writing/    changing the index
      build.py      full builds into a new generation, swapped in once committed
      update.py     incremental updates by content hash
      writer.py     Whoosh's writer as builds and updates use it
      linting.py    an update's content warnings, checked against the index
      watch.py      keep the index current as files change
    semantic/   ranking by meaning (numpy; optional)
      model.py      texts -> sentence vectors (all-MiniLM-L6-v2 run with numpy)
      vectors.py    article vectors stored per generation, and the exact float32 matrix
      quantised.py  the vectors as 8-bit codes that faiss scans (from 20,000 articles, without a graph)
      neighbours.py a graph of nearest neighbours over those codes, made by build and update (from 2,000)
      layout.py     which of the three a searcher's documents get
      checks.py     what `index verify` checks of the vectors, the graph and the query encoder
      query_encoder.py  queries -> vectors in microseconds, fitted to the articles
      fitting.py    embedding a build's articles and fitting the query encoder
    ranking/    scores
      bm25f.py      BM25F over the searched fields
      fusion.py     BM25F mixed with similarity of meaning
    search/     answering queries
      service.py    SearchService: orchestrates the parts below
      pool.py       one searcher per thread, reopened when the index moves on
      generation.py what threads share per index folder (parser, cache, vocabulary, vectors)
      query.py      what a student types -> a Whoosh query, malformed syntax as plain words
      ranked.py     which matches come first
      passages.py   the passage of each answer that answers the query
      filters.py    subject and year filters, their facet counts, and sorting by date
      highlight.py  <mark> query terms in titles, snippets and pages, everything else escaped
      spelling.py   did-you-mean, unmatched words, completions
      results.py    what a search answers
    analytics/  what people searched for and opened (never who)
      records.py    a settled search and a click, as stored
      store.py      one SQLite file (WAL) per replica, outside the index generations
      recorder.py   a bounded queue and a background thread writing batches off the request path
      report.py     searches per day, top queries, content gaps, click-through, slowest
      nearest.py    the articles nearest a query, for the gaps
      text.py       the report as text; command.py what `insights` runs
    options.py  the options and error handling the commands share
    cli.py      the `index`, `search` and `insights` commands (a thin shell over the above)
    summaries.py  what builds and updates print when done

Nothing here imports the web app or names it; the command that serves the site
adds `serve` to these commands and tells them which urls its routes take.
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
    from indexer.corpus.articles import (
        Article,
        ArticleError,
        RelatedLink,
        parse_article,
    )
    from indexer.corpus.files import CorpusError, load_corpus
    from indexer.corpus.rendering import plain_text, render_markdown
    from indexer.index.store import (
        IndexLocked,
        IndexMissing,
        IndexStore,
        IndexStoreError,
    )
    from indexer.search.results import Hit, SearchResults
    from indexer.search.service import SearchError, SearchService
    from indexer.writing.build import BuildError, BuildReport, build_index
    from indexer.writing.update import UpdateReport, update_index


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
