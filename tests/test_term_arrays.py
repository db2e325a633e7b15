"""Each segment's postings as arrays (indexer.index.term_arrays): the same postings, the same scores.

The files are a cache of Whoosh's postings that makes a plain query's scoring a
few reads: every test here compares them with Whoosh's own postings, or a
search through them with the same search reading Whoosh's postings alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.index.held import HeldSearcher
from indexer.index.schema import FIELD_BOOSTS
from indexer.index.segment_files import path_for
from indexer.index.term_arrays import SUFFIX, TermArrays, decoded_blocks
from support.corpora import write_synthetic
from support.segments import live_folder, segment_ids

QUERIES = ["entropy photon", "vaccine antibody memory", "acid buffer equilibrium catalyst", "treaty", "synthetic 7"]


def scored(index: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> list[list[tuple[str, float]]]:
    """Each query's first 30 (url, score) pairs; with ``monkeypatch``, from Whoosh's postings alone."""
    if monkeypatch is not None:
        monkeypatch.setattr(HeldSearcher, "term_arrays", lambda self, leaf: None)
    with SearchService(index, semantic=False) as service:
        return [[(hit.url, hit.score) for hit in service.search(query, per_page=30).results] for query in QUERIES]


@pytest.fixture
def synthetic_index(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    write_synthetic(corpus, 120, words=80)
    index = tmp_path / "index"
    build_index(corpus, index, semantic=False)
    return corpus, index


def test_every_segment_gets_the_postings_whoosh_holds(synthetic_index: tuple[Path, Path]) -> None:
    _, index = synthetic_index
    store = IndexStore(index)
    ix = store.open(store.require_pointer())
    try:
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers():
                arrays = TermArrays(live_folder(index), leaf.segment().segment_id(), leaf.doc_count_all())
                checked = 0
                for index_of_field, field in enumerate(FIELD_BOOSTS):
                    for term in leaf.lexicon(field):
                        docs, columns = arrays.postings(term)
                        column = columns[index_of_field]
                        blocks = list(decoded_blocks(leaf.postings(field, term)))
                        assert docs[column > 0].tolist() == np.concatenate([b[0] for b in blocks]).tolist()
                        assert column[column > 0].astype(float).tolist() == np.concatenate([b[1] for b in blocks]).tolist()
                        assert arrays.frequencies(term)[index_of_field] == leaf.doc_frequency(field, term)
                        checked += 1
                assert arrays.postings(b"zzznowhere") is None
                assert checked > 100
                assert arrays.frequencies(b"zzznowhere") == [0] * len(FIELD_BOOSTS)
    finally:
        ix.close()


def test_scores_are_those_of_whooshs_postings_after_updates_with_deletions(
    synthetic_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index = synthetic_index
    for n, path in enumerate(sorted(corpus.rglob("*.md"))[:30:3]):
        if n % 2:
            path.unlink()
        else:
            path.write_text(path.read_text("utf-8").replace("answer: ", "answer: entropy photon treaty ", 1), "utf-8")
    write_synthetic(corpus / "more", 15, words=60, seed=5, first_id=300_000)
    update_index(corpus, index)
    segments = segment_ids(index)
    assert len(segments) > 1, "the update added a segment beside the build's"
    assert all(path_for(live_folder(index), segment, SUFFIX).exists() for segment in segments)
    reads: list[object] = []
    real = TermArrays.postings
    monkeypatch.setattr(TermArrays, "postings", lambda self, term: reads.append(found := real(self, term)) or found)
    with_arrays = scored(index)
    monkeypatch.undo()
    assert all(with_arrays), "every query found articles"
    assert sum(isinstance(found, tuple) for found in reads) >= len(QUERIES), "the words were read from the arrays"
    assert with_arrays == scored(index, monkeypatch)


def test_an_index_without_the_files_searches_the_same_and_gains_them_at_its_next_update(
    synthetic_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index = synthetic_index
    before = scored(index)
    for path in live_folder(index).glob(f"*{SUFFIX}"):
        path.unlink()  # as an index written before them
    assert scored(index) == before
    update_index(corpus, index)  # nothing changed in the corpus
    assert all(path_for(live_folder(index), segment, SUFFIX).exists() for segment in segment_ids(index))
    assert scored(index) == before


def test_a_damaged_file_is_not_used(synthetic_index: tuple[Path, Path]) -> None:
    _, index = synthetic_index
    before = scored(index)
    for path in live_folder(index).glob(f"*{SUFFIX}"):
        data = path.read_bytes()
        path.write_bytes(data[:-16] + bytes(16))  # its end overwritten, the size kept (a cut file is refused whole)
    assert scored(index) == before


def test_words_the_file_leaves_out_are_read_from_whoosh(tmp_path: Path, make_article, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    long_word = "pneumono" + "ultramicroscopic" * 5  # 88 letters: longer than a key may be
    make_article(corpus, slug="long-word", id=1, title="A long word", answer=f"The word {long_word} is long.")
    make_article(corpus, slug="repeated", id=2, title="Repeated words", answer=" ".join(["echo"] * 300))
    make_article(corpus, slug="other", id=3, title="Other echo", answer="An echo, once.")
    index = tmp_path / "index"
    build_index(corpus, index, semantic=False)
    with SearchService(index, semantic=False) as service:
        found = {query: [(hit.url, hit.score) for hit in service.search(query).results] for query in (long_word, "echo")}
    assert [url for url, _ in found[long_word]] == ["/learn/testing/questions/long-word"]
    assert [url for url, _ in found["echo"]][0] == "/learn/testing/questions/repeated"
    monkeypatch.setattr(HeldSearcher, "term_arrays", lambda self, leaf: None)
    with SearchService(index, semantic=False) as service:
        assert found == {query: [(hit.url, hit.score) for hit in service.search(query).results] for query in found}


def test_merged_away_segments_lose_their_files(synthetic_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.index.merging

    corpus, index = synthetic_index
    monkeypatch.setattr(indexer.index.merging, "SEGMENTS_PER_TIER", 2)
    for n, path in enumerate(sorted(corpus.rglob("*.md"))[:6]):
        path.write_text(path.read_text("utf-8").replace("answer: ", f"answer: mergeword{n} ", 1), "utf-8")
        update_index(corpus, index)
    folder = live_folder(index)
    assert sorted(path.name for path in folder.glob(f"*{SUFFIX}")) == sorted(f"{segment}{SUFFIX}" for segment in segment_ids(index))


def test_document_frequencies_are_whooshs(synthetic_index: tuple[Path, Path]) -> None:
    from indexer.index.held import open_held

    corpus, index = synthetic_index
    for path in sorted(corpus.rglob("*.md"))[:40:4]:
        path.unlink()
    write_synthetic(corpus / "more", 10, words=60, seed=9, first_id=400_000)
    update_index(corpus, index)  # two segments, the first with deletions
    store = IndexStore(index)
    ix = store.open(store.require_pointer())
    held = open_held(ix)
    try:
        searcher = held.searcher
        assert len(list(searcher.reader().leaf_readers())) > 1
        checked = 0
        for field in FIELD_BOOSTS:
            for term in list(searcher.reader().lexicon(field))[:200]:
                text = term.decode("utf-8")
                assert held.doc_frequency(field, text) == searcher.doc_frequency(field, text)
                assert held.most_documents(text, FIELD_BOOSTS) == max(searcher.doc_frequency(name, text) for name in FIELD_BOOSTS)
                assert held.most_documents(text, ["answer", "title"]) == max(searcher.doc_frequency(name, text) for name in ("answer", "title"))
                checked += 1
            assert held.doc_frequency(field, "zzznowhere") == 0
        keywords = [term.decode("utf-8") for term in list(searcher.reader().lexicon("keywords"))[:20]]
        assert keywords and all(held.doc_frequency("keywords", text) == searcher.doc_frequency("keywords", text) for text in keywords)
        assert checked > 200
    finally:
        held.close()
        ix.close()
