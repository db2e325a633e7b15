"""The graph of nearest neighbours (large indexes): the exact scan's nearest articles, kept in step by updates.

The graph is made from :data:`~indexer.semantic.neighbours.GRAPH_FROM` articles (and
8-bit codes are scanned without it from :data:`~indexer.semantic.quantised.QUANTISE_FROM`);
these tests lower both thresholds so that small corpora use them too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.index.verify import verify_index
from indexer.semantic.checks import _graph_problems, semantic_problems
from indexer.semantic import neighbours, quantised
from indexer.semantic.neighbours import NEIGHBOURS_FILE, NeighbourGraph, NeighbourMatrix, write_neighbours
from indexer.semantic.quantised import QuantisedMatrix
from indexer.semantic.vectors import ArticleVectors, VectorMatrix, VectorTable, digest_array
from indexer.semantic.layout import lay_out

from helpers import SAMPLE_CORPUS
from test_quantised import DIMENSIONS, Searcher, topical_vectors

pytest.importorskip("faiss")  # (installed with the project's semantic extra, so by `make test`)


def digests(count: int, start: int = 0) -> list[str]:
    return [f"{number:032x}" for number in range(start, start + count)]


def vectors_of(names: list[str], seed: int = 7) -> ArticleVectors:
    return ArticleVectors("model", dict(zip(names, topical_vectors(len(names), seed))))


def queries_near(vectors: ArticleVectors, count: int = 40) -> np.ndarray:
    """Queries as a search asks them: near some articles (a random direction is near none, and a graph's worst case)."""
    rng = np.random.default_rng(11)
    rows = np.array(list(vectors.rows.values()), dtype=np.float32)[rng.integers(0, len(vectors), count)]
    moved = rows + 0.05 * rng.standard_normal(rows.shape)
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)


def every_size_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neighbours, "GRAPH_FROM", 1)
    monkeypatch.setattr(quantised, "QUANTISE_FROM", 1)


def exact_and_graph(vectors: ArticleVectors, documents: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[VectorMatrix, NeighbourMatrix]:
    every_size_large(monkeypatch)
    vectors.save(tmp_path)
    write_neighbours(tmp_path, vectors)
    table, graph = VectorTable.load(tmp_path), NeighbourGraph.load(tmp_path)
    assert table is not None and graph is not None
    exact = VectorMatrix.exact(table.rows_for(documents), table.vectors)
    found = lay_out(documents, table, graph)
    assert isinstance(found, NeighbourMatrix)
    return exact, found


def test_the_graph_finds_the_exact_scans_nearest_articles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = digests(3000)
    documents = names[::-1] + ["ff" * 16]  # document numbers unlike the labels; the last has no vector
    vectors = vectors_of(names)
    exact, graph = exact_and_graph(vectors, documents, tmp_path, monkeypatch)
    recall = []
    for query in queries_near(vectors):
        truth, found = exact.nearest(query, 100, Searcher()), graph.nearest(query, 100, Searcher())
        assert len(found) == 100 and 3000 not in found
        assert all(abs(found[docnum] - truth[docnum]) < 2e-3 for docnum in found.keys() & truth.keys())
        # the cosine a fusion is given for an article is the one the graph found it by (one scale for both)
        assert np.allclose(graph.similarity(query, list(found)), list(found.values()), rtol=0, atol=1e-5)
        recall.append(len(truth.keys() & found.keys()) / 100)
    assert np.mean(recall) >= 0.98, np.mean(recall)
    docnums = [0, 1, 2999, 3000]
    query = topical_vectors(1, seed=9)[0].astype(np.float32)
    assert np.allclose(graph.similarity(query, docnums), exact.similarity(query, docnums), atol=2e-3)
    assert graph.similarity(query, docnums)[3] == 0.0
    assert np.allclose(graph.rows([0, 1]), exact.rows([0, 1]), atol=1e-2)


def test_deleted_documents_and_shared_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = digests(500)
    documents = names + names[:1]  # documents 0 and 500 hold the same article: both are found
    _, graph = exact_and_graph(vectors_of(names), documents, tmp_path, monkeypatch)
    query = np.asarray(vectors_of(names).rows[names[0]], dtype=np.float32)
    first = list(graph.nearest(query, 10, Searcher()))
    assert first[:2] == [0, 500]
    after = graph.nearest(query, 10, Searcher(deleted={0, first[2]}))
    assert len(after) == 10 and after.keys().isdisjoint({0, first[2]}) and list(after)[0] == 500


def test_an_update_links_new_articles_marks_dropped_ones_and_remakes_the_graph_when_many_are_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    every_size_large(monkeypatch)
    vectors = vectors_of(digests(400))
    write_neighbours(tmp_path, vectors)
    vectors.discard(digests(20))  # 5% dropped, 30 added: extended in place
    vectors.add(digests(30, start=1000), topical_vectors(30, seed=3))
    write_neighbours(tmp_path, vectors)
    graph = NeighbourGraph.load(tmp_path)
    assert graph is not None and len(graph.hashes) == 430 and int(graph.live.sum()) == 410
    table_docs = digests(380, start=20) + digests(30, start=1000)
    vectors.save(tmp_path)
    table = VectorTable.load(tmp_path)
    assert table is not None
    matrix = lay_out(table_docs, table, graph)
    assert isinstance(matrix, NeighbourMatrix)
    newest = np.asarray(vectors.rows[digests(1, start=1029)[0]], dtype=np.float32)
    assert next(iter(matrix.nearest(newest, 5, Searcher()))) == len(table_docs) - 1
    vectors.discard(digests(40, start=20))  # now 60 of 430 are dead: made anew
    write_neighbours(tmp_path, vectors)
    remade = NeighbourGraph.load(tmp_path)
    assert remade is not None and len(remade.hashes) == len(vectors) == 370 and remade.live.all()


def test_a_graph_that_lacks_an_article_is_not_used_and_small_indexes_have_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    every_size_large(monkeypatch)
    vectors = vectors_of(digests(200))
    write_neighbours(tmp_path, vectors)
    graph = NeighbourGraph.load(tmp_path)
    vectors.add(digests(1, start=999), topical_vectors(1, seed=4))  # written to the vectors, not to the graph
    vectors.save(tmp_path)
    table = VectorTable.load(tmp_path)
    assert table is not None and graph is not None
    assert isinstance(lay_out(digests(201, start=0)[:200] + digests(1, start=999), table, graph), QuantisedMatrix)
    problems = _graph_problems(tmp_path, vectors)  # what `index verify` says of it
    assert len(problems) == 1 and problems[0].reason.startswith("lacks 1 of the 201 vectors")
    (tmp_path / NEIGHBOURS_FILE).write_bytes(b"PK\x03\x04 damaged")
    assert NeighbourGraph.load(tmp_path) is None
    monkeypatch.setattr(neighbours, "GRAPH_FROM", 1000)
    write_neighbours(tmp_path, vectors)
    assert not (tmp_path / NEIGHBOURS_FILE).exists()


def test_build_and_update_keep_a_graph_that_searches_rank_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end on the sample corpus: pages by meaning through the graph are the exact scan's pages."""
    queries = ["how do cells keep a stable temperature", "why do prices rise", "drug tolerance mechanisms", "light as a wave"]
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    every_size_large(monkeypatch)
    build_index(corpus, index, semantic=True)
    folder = index / IndexStore(index).require_pointer().dir
    assert (folder / NEIGHBOURS_FILE).exists()

    def pages() -> list[list[str]]:
        with SearchService(index) as service:
            held, generation = service._pool.acquire()
            layout = generation.semantic_layout(held)
            assert layout is not None and isinstance(layout.matrix, NeighbourMatrix)
            return [[hit.url for hit in service.search(text).results] for text in queries]

    through_graph = pages()
    (folder / NEIGHBOURS_FILE).unlink()
    with SearchService(index) as service:
        assert [[hit.url for hit in service.search(text).results] for text in queries] == through_graph
    some = sorted(corpus.rglob("*.md"))[0]
    text = some.read_text("utf-8")
    some.unlink()
    (corpus / "thermostat.md").write_text(text.replace("url: ", "url: /learn/new").replace("title: ", "title: Thermostat "), "utf-8")
    update_index(corpus, index)
    graph = NeighbourGraph.load(folder)
    vectors = ArticleVectors.load(folder)
    assert graph is not None and vectors is not None and len(graph.hashes) >= len(vectors)
    assert pages()  # every document of the new commit has a label: the graph is used
    monkeypatch.setattr(neighbours, "DEAD_SHARE", 0.0)
    some = sorted(corpus.rglob("*.md"))[0]
    some.unlink()
    update_index(corpus, index)
    remade = NeighbourGraph.load(folder)
    assert remade is not None and remade.live.all()
    assert verify_index(index, [semantic_problems])[1] == []
    (folder / NEIGHBOURS_FILE).write_bytes(b"not a graph")
    assert {problem.path for problem in verify_index(index, [semantic_problems])[1]} == {str(folder / NEIGHBOURS_FILE)}
    problems = semantic_problems(whoosh_index.open_dir(str(folder)), folder)  # (past the file list's size check)
    assert [problem.path for problem in problems] == [str(folder / NEIGHBOURS_FILE)] and problems[0].reason.startswith("unreadable")


def test_mid_sized_indexes_search_through_the_graph_and_fall_back_to_the_exact_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From GRAPH_FROM articles the graph is used, though the codes are not scanned below QUANTISE_FROM."""
    monkeypatch.setattr(neighbours, "GRAPH_FROM", 100)
    names = digests(300)
    vectors = vectors_of(names)
    vectors.save(tmp_path)
    write_neighbours(tmp_path, vectors)
    table, graph = VectorTable.load(tmp_path), NeighbourGraph.load(tmp_path)
    assert table is not None and graph is not None and 300 < quantised.QUANTISE_FROM
    assert isinstance(lay_out(names, table, graph), NeighbourMatrix)
    assert isinstance(lay_out(names + digests(1, start=999), table, graph), NeighbourMatrix)  # (a document without a vector has no label to lack)
    unknown = lay_out(digests(300, start=5000), table, graph)  # (a searcher none of whose documents has a vector)
    assert isinstance(unknown, NeighbourMatrix) and unknown.nearest(queries_near(vectors, 1)[0], 10, Searcher()) == {}
    vectors.add(digests(1, start=999), topical_vectors(1, seed=4))
    vectors.save(tmp_path)
    table = VectorTable.load(tmp_path)
    assert table is not None
    assert isinstance(lay_out(names + digests(1, start=999), table, graph), VectorMatrix)  # the graph lacks it: exact scan
    assert isinstance(lay_out(names[:99], table, graph), VectorMatrix)  # below GRAPH_FROM
    monkeypatch.setattr(neighbours, "GRAPH_FROM", 1000)
    write_neighbours(tmp_path, vectors)
    assert not (tmp_path / NEIGHBOURS_FILE).exists()


def evenly_spread(count: int, seed: int = 1) -> np.ndarray:
    """Unit vectors in no topic at all: a graph's hard case, which needs a wider search the more there are."""
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSIONS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)


def far_queries(vectors: ArticleVectors, count: int = 200, seed: int = 11) -> np.ndarray:
    """Queries as far from their nearest article as the judged collections' queries are (cosine about 0.56)."""
    rng = np.random.default_rng(seed)
    rows = np.array(list(vectors.rows.values()), dtype=np.float32)[rng.integers(0, len(vectors), count)]
    noise = rng.standard_normal(rows.shape)
    moved = rows + 1.5 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)


def graph_recall(vectors: ArticleVectors, graph: NeighbourGraph, queries: np.ndarray) -> float:
    names = list(vectors.rows)
    rows = np.arange(len(names))
    exact = VectorMatrix.exact(rows, np.array(list(vectors.rows.values())))
    found = graph.matrix_for(digest_array(names), rows)
    assert found is not None
    return float(np.mean([len(exact.nearest(query, 100, Searcher()).keys() & found.nearest(query, 100, Searcher()).keys()) / 100
                          for query in queries]))


def test_each_graph_measures_the_breadth_that_finds_the_exact_scans_nearest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Articles in topics keep the starting breadth; evenly spread ones get a wider search, and it finds them."""
    every_size_large(monkeypatch)
    topical = vectors_of(digests(3000))
    write_neighbours(tmp_path, topical)
    graph = NeighbourGraph.load(tmp_path)
    assert graph is not None and graph.breadth == neighbours.BREADTH_PER_RESULT and graph.calibrated == 3000
    assert NeighbourGraph.load(tmp_path, searched_only=True) is not None  # (searched: what a searcher reads)
    assert graph_recall(topical, graph, far_queries(topical)) >= 0.98
    spread = ArticleVectors("model", dict(zip(digests(5000, start=10_000), evenly_spread(5000))))
    write_neighbours(tmp_path, spread)  # (none of the old articles is among them: made anew)
    widened = NeighbourGraph.load(tmp_path)
    assert widened is not None and widened.breadth is not None and widened.breadth > neighbours.BREADTH_PER_RESULT
    queries = far_queries(spread)  # (other probes than the calibration's: their own draw)
    # The breadth is the first whose probes reach the target, so fresh queries land about there:
    # within the error of a 200-query mean (about 0.003 here).
    assert graph_recall(spread, widened, queries) >= neighbours.TARGET_RECALL - 0.01
    widened.breadth = neighbours.BREADTH_PER_RESULT
    assert graph_recall(spread, widened, queries) < 0.95  # what the fixed breadth found before


def test_a_graph_no_breadth_makes_good_enough_is_kept_but_scanned_past(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    every_size_large(monkeypatch)
    monkeypatch.setattr(neighbours, "BREADTHS_PER_RESULT", (1.5,))
    names = digests(5000)
    vectors = ArticleVectors("model", dict(zip(names, evenly_spread(5000))))
    vectors.save(tmp_path)
    with caplog.at_level("WARNING", logger="indexer.semantic.neighbours"):
        write_neighbours(tmp_path, vectors)
    assert "searches by meaning scan all 5000 articles' 8-bit codes" in caplog.text
    graph, table = NeighbourGraph.load(tmp_path), VectorTable.load(tmp_path)
    assert graph is not None and graph.breadth is None and table is not None
    assert isinstance(lay_out(names, table, graph), QuantisedMatrix)
    # A searcher stops at the breadth: the graph itself is never deserialized, only to be dropped.
    import faiss

    deserialized: list[object] = []
    with monkeypatch.context() as patched:
        patched.setattr(faiss, "deserialize_index", deserialized.append)
        assert NeighbourGraph.load(tmp_path, searched_only=True) is None and deserialized == []
    vectors.add(digests(100, start=9000), evenly_spread(100, seed=2))  # 2% more: linked in, not measured again
    caplog.clear()
    write_neighbours(tmp_path, vectors)
    extended = NeighbourGraph.load(tmp_path)
    assert extended is not None and len(extended.hashes) == 5100 and extended.breadth is None and extended.calibrated == 5000
    assert caplog.text == ""  # (said once, when the graph stopped being searched)
    monkeypatch.setattr(neighbours, "BREADTHS_PER_RESULT", (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0))
    vectors.add(digests(500, start=10000), evenly_spread(500, seed=3))  # 12% since the calibration: measured again
    write_neighbours(tmp_path, vectors)
    measured = NeighbourGraph.load(tmp_path)
    assert measured is not None and measured.calibrated == 5600 and measured.breadth is not None
    assert graph_recall(vectors, measured, far_queries(vectors)) >= neighbours.TARGET_RECALL - 0.01


def test_a_graph_saved_before_calibration_is_searched_as_before_and_calibrated_by_the_next_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    every_size_large(monkeypatch)
    vectors = ArticleVectors("model", dict(zip(digests(5000), evenly_spread(5000))))
    write_neighbours(tmp_path, vectors)
    with np.load(tmp_path / NEIGHBOURS_FILE) as data:  # the file as the code before calibration wrote it
        old = {key: data[key] for key in ("model", "hashes", "live", "graph")}
    np.savez(tmp_path / NEIGHBOURS_FILE, **old)
    graph = NeighbourGraph.load(tmp_path)
    assert graph is not None and graph.breadth == neighbours.BREADTH_PER_RESULT and graph.calibrated == 0
    vectors.add(digests(1, start=9000), evenly_spread(1, seed=2))
    write_neighbours(tmp_path, vectors)
    calibrated = NeighbourGraph.load(tmp_path)
    assert calibrated is not None and calibrated.calibrated == 5001 and calibrated.breadth is not None
    assert calibrated.breadth > neighbours.BREADTH_PER_RESULT
