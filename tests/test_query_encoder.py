"""The fast query encoder: piece vectors fitted so that an article's text gives back its model vector.

These run the installed embedding model (`make test` installs it) on the
sample corpus's 54 articles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import indexer.semantic.model
from indexer import load_corpus, plain_text
from indexer.semantic.model import TextEncoder, embedding_text, load_encoder
from indexer.semantic.query_encoder import QUERY_ENCODER_FILE, QueryEncoder, fit_query_encoder

from helpers import SAMPLE_CORPUS


@pytest.fixture(scope="module")
def articles() -> tuple[list[str], list[str], np.ndarray]:
    """The sample articles' titles, embedding texts and model vectors."""
    found = sorted((article for article, _ in load_corpus(SAMPLE_CORPUS).articles), key=lambda article: article.id)
    texts = [embedding_text(article.title, article.question, plain_text(article.answer)) for article in found]
    return [article.title for article in found], texts, load_encoder().encode(texts)


@pytest.fixture(scope="module")
def pieces_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lone-piece cache for the module's fits (the model's work on them is the slow part)."""
    return tmp_path_factory.mktemp("pieces") / "pieces.npz"


@pytest.fixture(scope="module")
def fitted(articles: tuple[list[str], list[str], np.ndarray], pieces_cache: Path) -> QueryEncoder:
    _, texts, vectors = articles
    return fit_query_encoder(load_encoder(), texts, vectors, cache=pieces_cache)


def test_an_articles_own_text_finds_its_model_vector(
    articles: tuple[list[str], list[str], np.ndarray], fitted: QueryEncoder, pieces_cache: Path
) -> None:
    _, texts, vectors = articles
    unfitted = fit_query_encoder(load_encoder(), texts, vectors, cache=pieces_cache, ridge=1e9)  # the starting vectors, all but unmoved
    queries = np.array([fitted.encode_query(text) for text in texts])
    starting = np.array([unfitted.encode_query(text) for text in texts])

    own = np.einsum("ij,ij->i", queries, vectors)
    assert own.mean() > 0.9, own.mean()
    assert own.mean() > np.einsum("ij,ij->i", starting, vectors).mean() + 0.2, "the fit, not the starting vectors, does the work"
    assert ((queries @ vectors.T).argmax(axis=1) == np.arange(len(texts))).all(), "every article is its own text's nearest"


def test_titles_alone_land_near_their_articles(
    articles: tuple[list[str], list[str], np.ndarray], fitted: QueryEncoder, pieces_cache: Path
) -> None:
    """A short query, as students type them, is read closer to the model's reading than the starting vectors read it."""
    titles, texts, vectors = articles
    model = load_encoder()
    unfitted = fit_query_encoder(model, texts, vectors, cache=pieces_cache, ridge=1e9)
    readings = model.encode(titles)
    agreement = np.median([float(fitted.encode_query(title) @ reading) for title, reading in zip(titles, readings)])
    before = np.median([float(unfitted.encode_query(title) @ reading) for title, reading in zip(titles, readings)])
    nearest = [int((vectors @ fitted.encode_query(title)).argmax()) for title in titles]
    assert agreement > before + 0.1, (agreement, before)
    assert sum(row == found for row, found in enumerate(nearest)) >= 0.9 * len(titles)


def test_conjugate_gradient_agrees_with_the_exact_fit(
    articles: tuple[list[str], list[str], np.ndarray], fitted: QueryEncoder, pieces_cache: Path
) -> None:
    """Past a few thousand articles the fit is iterative; it must reach the same piece vectors."""
    titles, texts, vectors = articles
    iterative = fit_query_encoder(load_encoder(), texts, vectors, cache=pieces_cache, exact_limit=0)
    for title in titles:
        assert float(iterative.encode_query(title) @ fitted.encode_query(title)) > 0.99, title


def test_the_cache_saves_the_model_work_and_changes_nothing(
    articles: tuple[list[str], list[str], np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, texts, vectors = articles
    cache = tmp_path / "pieces.npz"
    asked: list[int] = []
    real = TextEncoder.lone_piece_vectors

    def counting(self: Any, ids: Any, *args: Any) -> Any:
        asked.append(len(ids))
        return real(self, ids, *args)

    monkeypatch.setattr(TextEncoder, "lone_piece_vectors", counting)
    first = fit_query_encoder(load_encoder(), texts[:30], vectors[:30], cache=cache)
    again = fit_query_encoder(load_encoder(), texts[:30], vectors[:30], cache=cache)
    more = fit_query_encoder(load_encoder(), texts, vectors, cache=cache)

    assert asked[0] > 1000 and len(asked) == 2, "the second fit computes nothing, the third only the new pieces"
    assert asked[1] < asked[0]
    assert np.array_equal(first.pieces, again.pieces)
    uncached = fit_query_encoder(load_encoder(), texts, vectors)
    assert np.array_equal(more.pieces, uncached.pieces)


def test_saved_and_loaded_it_embeds_alike_and_a_damaged_file_is_refused(fitted: QueryEncoder, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    loaded = QueryEncoder.load(tmp_path)
    assert loaded is not None and loaded.model == fitted.model == load_encoder().name
    assert np.array_equal(loaded.encode_query("drug tolerance mechanisms"), fitted.encode_query("drug tolerance mechanisms"))

    # Only the pieces the articles use are stored: a small site's encoder is small.
    assert len(loaded.ids) < fitted.size / 4 and (tmp_path / QUERY_ENCODER_FILE).stat().st_size < 8_000_000
    assert np.array_equal(loaded.pieces, fitted.pieces)

    np.savez(tmp_path / QUERY_ENCODER_FILE, ids=np.array([fitted.size + 5]), rows=np.ones((1, 384), np.float16),
             size=np.array(fitted.size), tokenizer=np.frombuffer(fitted.tokenizer_json.encode(), np.uint8), model=np.array("m"))
    assert QueryEncoder.load(tmp_path) is None, "a piece id outside the vocabulary"
    (tmp_path / QUERY_ENCODER_FILE).write_bytes(b"not an npz file")
    assert QueryEncoder.load(tmp_path) is None
    assert QueryEncoder.load(tmp_path / "missing") is None


def test_a_passage_reads_as_the_same_words_typed_as_a_query_whatever_is_beside_it(fitted: QueryEncoder) -> None:
    """Passages are encoded in batches; each text's vector is its own (a page's passage scores must
    not hang on the other results), and equals the query vector of the same text, bit for bit."""
    texts = ["How do vaccines train the immune system?", "", "tolerance " * 400, "Why is the sky blue?"]
    together = fitted.encode_texts(texts)
    for text, row in zip(texts, together):
        assert np.array_equal(fitted.encode_texts([text])[0], row)
        assert np.array_equal(fitted.encode_query(text), row)
    assert not together[1].any()
    assert np.array_equal(fitted.encode_texts(texts[::-1])[::-1], together)


def test_a_query_with_nothing_to_read_has_no_direction(fitted: QueryEncoder) -> None:
    blank = fit_query_encoder(load_encoder(), ["", " "], np.eye(2, fitted.pieces.shape[1], dtype=np.float32))
    assert not blank.pieces.any(), "texts without a piece fit nothing, and fail nothing"
    for text in ("", "   ", "\u200b"):
        vector = fitted.encode_query(text)
        assert vector.shape == (fitted.pieces.shape[1],) and not vector.any()
    long = fitted.encode_query("tolerance " * 5000)  # cut, not refused
    assert abs(float(np.linalg.norm(long)) - 1.0) < 1e-3


def test_queries_never_run_the_model(fitted: QueryEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("the model ran for a query")

    monkeypatch.setattr(indexer.semantic.model.TextEncoder, "_forward", refuse)
    assert abs(float(np.linalg.norm(fitted.encode_query("why do prices rise"))) - 1.0) < 1e-3


def test_fitting_the_titles_brings_a_title_nearer_its_article(
    articles: tuple[list[str], list[str], np.ndarray], fitted: QueryEncoder, pieces_cache: Path
) -> None:
    """Each article's title is fitted to its vector too (TITLE_WEIGHT): short texts land where their articles are."""
    titles, texts, vectors = articles
    without = fit_query_encoder(load_encoder(), texts, vectors, cache=pieces_cache, title_weight=0)
    near = np.median([float(fitted.encode_query(title) @ vector) for title, vector in zip(titles, vectors)])
    before = np.median([float(without.encode_query(title) @ vector) for title, vector in zip(titles, vectors)])
    assert near > before + 0.02, (near, before)


#: Query text as students paste it, and what the tokenizer must not read word by word: accents,
#: non-Latin letters, control characters that join the words around them, runs of punctuation;
#: and what Python's cut of a new word must cut as the tokenizer does: the tokenizer's own tokens
#: ([MASK]), a word longer than WordPiece reads (unknown), pieces that look like continuations.
QUERY_TEXT = st.lists(
    st.sampled_from(list("abcXYZ019 \t\n\r.,;:!?'\"()-+/&%") + ["é", "ß", "Ω", "中", "\x0b", "\x0c", "\x1f", "\x7f", "\u00a0", "\u2009", "ab" * 60, "tolerance ", "mechanisms ",
                     "[MASK]", "[mask] ", "[SEP", "##ing", "Unaffable", "qzxj"]),
    max_size=300,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(QUERY_TEXT, min_size=1, max_size=6))
@example(texts=["how do drug tolerance mechanisms work, and why? " * 40])  # (a pasted question past the cap)
def test_a_query_is_cut_as_the_tokenizer_cuts_the_whole_text(fitted: QueryEncoder, texts: list[str]) -> None:
    """Words cut one at a time and kept (one worker answers many queries) give the whole text's pieces, cap included."""
    for text in texts:  # (several in one encoder: later texts meet words kept from earlier ones)
        assert fitted.query_pieces(text) == fitted.tokenizer.encode(text, add_special_tokens=False).ids, repr(text)


def test_a_tokenizer_of_another_kind_cuts_new_words_itself(fitted: QueryEncoder) -> None:
    """Python's WordPiece stands in for BERT's lower-casing tokenizer only: a cased one cuts its own words."""
    import json

    from tokenizers import Tokenizer

    from indexer.semantic.pieces import QueryCutter, WordPieces, configured

    settings = json.loads(fitted.tokenizer_json)
    settings["normalizer"]["lowercase"] = False
    cased = configured(Tokenizer.from_str(json.dumps(settings)))
    assert WordPieces.of(cased) is None and WordPieces.of(fitted.tokenizer) is not None
    text = "Tolerance MECHANISMS of Drugs"
    assert QueryCutter(cased)(text) == cased.encode(text, add_special_tokens=False).ids
    assert QueryCutter(cased)(text) != fitted.query_pieces(text)  # (so a lower-casing cut would have been caught)
