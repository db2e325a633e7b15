"""The compiled reference: tantivy (Rust, Lucene-like) over the same articles, as a user of tantivy-py would run it.

Fields title, answer (plain text, as FTS5 gets it) and keywords with the
``en_stem`` tokenizer, url stored; written by tantivy's multi-threaded writer
and committed. Queries OR every distinct word over the three fields, ranked by
BM25 with the FTS5 reference's weights as field boosts; the title and an
answer snippet come from ``SnippetGenerator``. Reading and parsing the article
files is part of its build, as it is of ours and of FTS5's. Bench only: needs
the ``bench`` extra.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import tantivy

from indexer import load_corpus, plain_text
from reference import WEIGHTS, match_expression

FIELDS = ("title", "answer", "keywords")
BOOSTS = dict(zip(FIELDS, WEIGHTS))
SNIPPET_CHARS = 200  # about the 32 tokens FTS5's snippet() is given
TITLE_CHARS = 1000  # the whole title, as FTS5's highlight() returns it


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("answer", stored=True, tokenizer_name="en_stem")  # stored: snippets need the text
    builder.add_text_field("keywords", tokenizer_name="en_stem")
    builder.add_text_field("url", stored=True, tokenizer_name="raw")
    return builder.build()


def build(corpus: Path, path: Path) -> int:
    """Parse the corpus and write a tantivy index in the folder ``path``; return the document count."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    scan = load_corpus(corpus)
    index = tantivy.Index(schema(), path=str(path))
    writer = index.writer()  # default heap, one indexing thread a core
    for article, _ in scan.articles:
        writer.add_document(
            tantivy.Document(
                title=article.title, answer=plain_text(article.answer), keywords=", ".join(article.keywords), url=article.url
            )
        )
    writer.commit()
    writer.wait_merging_threads()  # the merges a commit starts are part of the build, as FTS5's 'optimize' is
    return len(scan.articles)


def _marked(snippet: tantivy.Snippet) -> str:
    # to_html() escapes the text and wraps matches in <b>, so the only literal tags are its own.
    return snippet.to_html().replace("<b>", "<mark>").replace("</b>", "</mark>")


def _whole(text: str, snippet: tantivy.Snippet) -> str:
    """All of ``text``, marked: a fragment runs from the first to the last token, so put back what is around it."""
    fragment = snippet.fragment()
    start = text.find(fragment) if fragment else -1
    if start < 0:
        return html.escape(text)
    return html.escape(text[:start]) + _marked(snippet) + html.escape(text[start + len(fragment) :])


class TantivyReference:
    """Top-10 searches with snippets against a built index."""

    def __init__(self, path: Path) -> None:
        self.index = tantivy.Index.open(str(path))
        self.searcher = self.index.searcher()

    def search(self, text: str, limit: int = 10) -> list[tuple[str, str, str, float]]:
        expression = match_expression(text)
        if not expression:
            return []
        query = self.index.parse_query(expression, list(FIELDS), field_boosts=BOOSTS)
        titles = tantivy.SnippetGenerator.create(self.searcher, query, self.index.schema, "title")
        titles.set_max_num_chars(TITLE_CHARS)
        answers = tantivy.SnippetGenerator.create(self.searcher, query, self.index.schema, "answer")
        answers.set_max_num_chars(SNIPPET_CHARS)
        rows = []
        for score, address in self.searcher.search(query, limit).hits:
            doc = self.searcher.doc(address)
            title = _whole(str(doc.get_first("title")), titles.snippet_from_doc(doc))
            rows.append((str(doc.get_first("url")), title, _marked(answers.snippet_from_doc(doc)), float(score)))
        return rows
