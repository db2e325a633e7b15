"""Article vectors as 8-bit codes (large indexes): the same nearest articles and cosines as float32, to about 1e-3."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from indexer.semantic import quantised
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import VectorMatrix, VectorTable
from indexer.semantic.layout import lay_out

pytest.importorskip("faiss")  # (installed with the project's semantic extra, so by `make test`)

DIMENSIONS = 384


class Reader:
    def __init__(self, deleted: set[int]) -> None:
        self.deleted = deleted

    def has_deletions(self) -> bool:
        return bool(self.deleted)

    def is_deleted(self, docnum: int) -> bool:
        return docnum in self.deleted


class Searcher:
    """What the matrices ask of a Whoosh searcher: which documents are deleted."""

    def __init__(self, deleted: set[int] = set()) -> None:
        self._reader = Reader(deleted)

    def reader(self) -> Reader:
        return self._reader


def topical_vectors(count: int, seed: int = 7) -> np.ndarray:
    """Unit vectors in 40 topics, like sentence vectors: articles on one topic lie close together."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((40, DIMENSIONS))
    vectors = topics[rng.integers(0, 40, count)] + 0.8 * rng.standard_normal((count, DIMENSIONS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)


def laid_out(vectors: np.ndarray, rows: np.ndarray, coarse: bool) -> QuantisedMatrix:
    """The 8-bit codes of ``vectors``, with the coarse codes a large index has first or without."""
    saved = quantised.COARSE_FROM
    quantised.COARSE_FROM = 1 if coarse else len(rows) + 1
    try:
        codes = QuantisedMatrix(rows, vectors)
    finally:
        quantised.COARSE_FROM = saved
    if codes.coarse_made is not None:  # (made in a thread of their own, as a worker makes them)
        codes.coarse_made.join()
    return codes


@pytest.fixture(scope="module", params=["every code scanned", "coarse codes first"])
def both(request: pytest.FixtureRequest) -> tuple[VectorMatrix, QuantisedMatrix, np.ndarray]:
    vectors = topical_vectors(3000)
    rows = np.arange(len(vectors), dtype=np.int64)
    rows[::50] = -1  # every 50th document has no vector (indexed while the model was missing)
    queries = topical_vectors(40, seed=8).astype(np.float32)
    codes = laid_out(vectors, rows, coarse=request.param == "coarse codes first")
    assert (codes._coarse is not None) == (request.param == "coarse codes first")
    return VectorMatrix.exact(rows, vectors), codes, queries


def test_the_nearest_articles_are_the_exact_scans(both: tuple[VectorMatrix, QuantisedMatrix, np.ndarray]) -> None:
    exact, codes, queries = both
    recall = []
    for query in queries:
        truth, found = exact.nearest(query, 100, Searcher()), codes.nearest(query, 100, Searcher())
        recall.append(len(truth.keys() & found.keys()) / 100)
        assert all(docnum % 50 for docnum in found), "a document without a vector was found"
        assert all(abs(found[docnum] - truth[docnum]) < 2e-3 for docnum in found.keys() & truth.keys())
    assert np.mean(recall) >= 0.98, np.mean(recall)


def test_cosines_of_given_articles_match_and_one_without_a_vector_scores_nothing(
    both: tuple[VectorMatrix, QuantisedMatrix, np.ndarray],
) -> None:
    exact, codes, queries = both
    docnums = [0, 1, 2, 49, 50, 51, 2999]
    got, want = codes.similarity(queries[0], docnums), exact.similarity(queries[0], docnums)
    assert got[docnums.index(50)] == 0.0 and got[0] == 0.0
    assert np.allclose(got, want, atol=2e-3)
    assert np.allclose(codes.rows([1, 51]), exact.rows([1, 51]), atol=1e-2)


def test_cosines_read_from_the_codes_are_the_ones_the_scan_ranks_by(
    both: tuple[VectorMatrix, QuantisedMatrix, np.ndarray],
) -> None:
    """A candidate's cosine (read from the codes by numpy) and the scan's score for it (faiss's
    own decoding) agree, so the candidates found and the candidates given are mixed on one scale."""
    _, codes, queries = both
    for query in queries[:10]:
        found = codes.nearest(query, 30, Searcher())
        given = codes.similarity(query, list(found))
        assert np.allclose(given, list(found.values()), rtol=0, atol=1e-5)
        assert np.allclose(given, codes.rows(list(found)) @ query, rtol=0, atol=1e-5)


def test_deleted_documents_are_skipped(both: tuple[VectorMatrix, QuantisedMatrix, np.ndarray]) -> None:
    _, codes, queries = both
    first = list(codes.nearest(queries[1], 10, Searcher()))
    after = codes.nearest(queries[1], 10, Searcher(deleted=set(first[:3])))
    assert len(after) == 10 and not set(first[:3]) & after.keys() and list(after)[:7] == first[3:]


def test_large_layouts_are_quantised_small_ones_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = topical_vectors(200)
    hashes = np.array([bytes([n % 256, n // 256]) * 8 for n in range(200)], dtype="S16")
    table = VectorTable("model", hashes, vectors)
    documents: list[Any] = [bytes(hashes.view("u1").reshape(200, 16)[n]).hex() for n in (5, 199, 0)] + ["ff" * 16]
    small = lay_out(documents, table)
    assert isinstance(small, VectorMatrix) and small.known.tolist() == [True, True, True, False]
    assert np.allclose(small.rows([0, 1, 2]), vectors[[5, 199, 0]].astype(np.float32))
    monkeypatch.setattr(quantised, "QUANTISE_FROM", 4)
    large = lay_out(documents, table)
    assert isinstance(large, QuantisedMatrix) and large.known.tolist() == [True, True, True, False]


def test_a_hash_ending_in_a_zero_byte_keeps_its_vector(tmp_path: Any) -> None:
    """numpy drops a fixed-width string's trailing zero bytes: one article in 256 lost its vector."""
    from indexer.semantic.vectors import ArticleVectors

    digests = ["ab" * 15 + "00", "00" * 16, "cd" * 16]
    vectors = topical_vectors(3)
    ArticleVectors("model", dict(zip(digests, vectors))).save(tmp_path)
    assert set(ArticleVectors.load(tmp_path).rows) == set(digests)  # type: ignore[union-attr]
    table = VectorTable.load(tmp_path)
    assert table is not None and table.rows_for(digests).tolist() == [0, 1, 2]


class CountingIndex:
    """A faiss index that counts its full scans."""

    def __init__(self, index: Any) -> None:
        self.index, self.scans = index, 0

    def search(self, *arguments: Any) -> Any:
        self.scans += 1
        return self.index.search(*arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)


def test_a_moved_query_is_ranked_among_the_first_scans_pool_without_a_second_scan(
    both: tuple[VectorMatrix, QuantisedMatrix, np.ndarray], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Feedback moves the query towards its best articles; its nearest are found among the first
    scan's nearest (the pool), with the scan's cosines, and deleted documents stay skipped."""
    from indexer.semantic.vectors import SemanticQuery

    _, codes, _ = both
    queries = topical_vectors(3020)[-20:].astype(np.float32)  # (on the articles' topics, as a student's query is)
    codes.similarity(queries[0], [0])  # (the codes' decoding read from the faiss index itself, not the wrapper)
    counting = CountingIndex(codes._index)
    monkeypatch.setattr(codes, "_index", counting)
    monkeypatch.setattr(quantised, "FEEDBACK_POOL_LEAST", 200)  # a fifteenth of the 3,000 codes
    recall = []
    for query in queries:
        first = SemanticQuery(codes, lambda: query, Searcher(), _vector=query)
        best = list(first.nearest(10))
        moved = first.refined(best[:2], 0.5)
        scans = counting.scans
        found = moved.nearest(100)
        assert counting.scans == scans, "the moved query scanned every code again"
        truth = codes.nearest(moved.vector, 100, Searcher())  # a full scan, for the truth
        recall.append(len(truth.keys() & found.keys()) / 100)
        assert all(abs(found[docnum] - truth[docnum]) < 1e-5 for docnum in found.keys() & truth.keys())
        assert all(docnum % 50 for docnum in found), "a document without a vector was found"
        skipped = SemanticQuery(codes, lambda: query, Searcher(deleted=set(best[:3])), _vector=query)
        skipped.nearest(10)
        assert not set(best[:3]) & skipped.refined(best[3:5], 0.5).nearest(50).keys()
    assert np.mean(recall) >= 0.98, np.mean(recall)


def test_coarse_codes_find_the_nearest_without_reading_every_8_bit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """From COARSE_FROM articles a scan reads the coarse codes, then ranks their best by the
    8-bit codes: the same nearest and cosines as reading every 8-bit code, which it never does."""
    vectors = topical_vectors(6000, seed=11)
    rows = np.arange(len(vectors), dtype=np.int64)
    scanned, coarse = laid_out(vectors, rows, coarse=False), laid_out(vectors, rows, coarse=True)
    assert scanned.coarse_made is None and coarse._coarse is not None
    monkeypatch.setattr(quantised, "COARSE_LEAST", 400)  # (a fifteenth of the codes: the recall is not given away)
    monkeypatch.setattr(quantised, "FEEDBACK_POOL_LEAST", 400)
    queries = topical_vectors(6030, seed=11)[-30:].astype(np.float32)
    coarse.similarity(queries[0], [0])  # (the codes' decoding read from the faiss index itself, not the wrapper)
    counting = CountingIndex(coarse._index)
    monkeypatch.setattr(coarse, "_index", counting)
    recall = []
    for query in queries:
        truth, found = scanned.nearest(query, 100, Searcher()), coarse.nearest(query, 100, Searcher())
        recall.append(len(truth.keys() & found.keys()) / 100)
        assert all(abs(found[docnum] - truth[docnum]) < 1e-5 for docnum in found.keys() & truth.keys())
    assert counting.scans == 0, "every 8-bit code was read"
    assert np.mean(recall) >= 0.98, np.mean(recall)
    same = laid_out(vectors, rows, coarse=True)  # (another worker's layout of the same generation)
    assert same.nearest(queries[0], 20, Searcher()) == coarse.nearest(queries[0], 20, Searcher()), "two workers rank apart"


def test_searches_read_every_8_bit_code_until_the_coarse_codes_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coarse codes are made in a thread: a search that comes first is answered by the full scan."""
    vectors = topical_vectors(3000, seed=12)
    rows = np.arange(len(vectors), dtype=np.int64)
    made = threading.Event()
    making = QuantisedMatrix._make_coarse

    def held_back(self: QuantisedMatrix, *arguments: Any) -> None:
        made.wait(30)
        making(self, *arguments)

    monkeypatch.setattr(QuantisedMatrix, "_make_coarse", held_back)
    monkeypatch.setattr(quantised, "COARSE_FROM", 1)
    codes = QuantisedMatrix(rows, vectors)
    query = vectors[7].astype(np.float32)
    before = codes.nearest(query, 10, Searcher())
    assert codes._coarse is None and next(iter(before)) == 7
    made.set()
    assert codes.coarse_made is not None
    codes.coarse_made.join(30)
    after = codes.nearest(query, 10, Searcher())
    assert codes._coarse is not None and list(after) == list(before)
    assert np.allclose(list(after.values()), list(before.values()), rtol=0, atol=1e-5)  # (numpy's reading of the codes, not faiss's)
