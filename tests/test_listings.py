"""What a results page shows, ready beside each segment (indexer.index.listings): the same page either way.

Every test compares a search's results made from the listing files with the
same search made from the stored fields alone, as before the files existed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.index.held import HeldSearcher, open_held
from indexer.index.listings import SUFFIX, Listings, listing_of
from indexer.index.schema import unpack_article
from indexer.index.segment_files import path_for
from support.corpora import SAMPLE_CORPUS
from support.segments import live_folder, segment_ids

QUERIES = ["how does the body keep its temperature steady", "tolerance", "entropy heat", "why do we forget", "supply and demand"]


def pages(index: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> list[list[dict[str, object]]]:
    """Each query's first page, every field a result shows; with ``monkeypatch``, made from the stored fields."""
    if monkeypatch is not None:
        monkeypatch.setattr(HeldSearcher, "listing", lambda self, docnum: None)
    with SearchService(index) as service:
        return [[vars(hit) for hit in service.search(query).results] for query in QUERIES]


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, semantic=False)
    return corpus, index


def test_each_documents_listing_is_what_its_stored_fields_give(sample: tuple[Path, Path]) -> None:
    _, index = sample
    store = IndexStore(index)
    ix = store.open(store.require_pointer())
    held = open_held(ix)
    try:
        for leaf, _ in held.searcher.reader().leaf_readers():
            listings = Listings(live_folder(index), leaf.segment().segment_id(), leaf.doc_count_all())
            for docnum in range(leaf.doc_count_all()):
                assert listings.get(docnum) == listing_of(unpack_article(leaf.stored_fields(docnum)))
    finally:
        held.close()
        ix.close()


def test_pages_are_the_same_from_the_listings_after_an_update(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, index = sample
    articles = sorted(corpus.rglob("*.md"))
    articles[0].unlink()
    articles[1].write_text(articles[1].read_text("utf-8").replace("answer: ", "answer: Entropy and heat. ", 1), "utf-8")
    update_index(corpus, index)
    folder = live_folder(index)
    assert sorted(path.name for path in folder.glob(f"*{SUFFIX}")) == sorted(f"{segment}{SUFFIX}" for segment in segment_ids(index))
    read: list[object] = []
    real = Listings.get
    monkeypatch.setattr(Listings, "get", lambda self, docnum: read.append(docnum) or real(self, docnum))
    shown = pages(index)
    monkeypatch.undo()
    assert all(shown) and len(read) == sum(map(len, shown)), "every result came from a listing"
    assert shown == pages(index, monkeypatch)


def test_without_whole_listings_pages_come_from_the_stored_fields(sample: tuple[Path, Path]) -> None:
    corpus, index = sample
    before = pages(index)
    (listing,) = live_folder(index).glob(f"*{SUFFIX}")
    data = listing.read_bytes()
    listing.write_bytes(data[:100] + bytes(50) + data[150:])  # records damaged, the size kept
    assert pages(index) == before
    listing.unlink()  # as an index written before listings
    assert pages(index) == before
    update_index(corpus, index)  # nothing changed: the listing is written again
    assert listing.exists()
    assert pages(index) == before


def test_a_listing_holds_every_document_of_its_segment(sample: tuple[Path, Path]) -> None:
    _, index = sample
    store = IndexStore(index)
    ix = store.open(store.require_pointer())
    try:
        (segment,) = ix._segments()
        with pytest.raises(ValueError, match="documents"):
            Listings(live_folder(index), segment.segment_id(), segment.doc_count_all() + 1)
        assert path_for(live_folder(index), segment.segment_id(), SUFFIX).exists()
    finally:
        ix.close()


def test_a_record_keeps_passages_it_cannot_place_in_the_plain_text_whole() -> None:
    """The plain text holds every passage in order; should one ever not be found, it is kept as text."""
    from indexer.corpus.blocks import AnswerParts, Passage, places_in
    from indexer.index.listings import _spans

    passages = (Passage(1, "First line."), Passage(2, "Second one."), Passage(2, "Third."))
    plain = "First line.\nSecond one. Third."
    parts = AnswerParts(plain, passages, places_in(plain, passages))
    assert _spans(parts) == ((1, 0, 11), (2, 12, 23), (2, 24, 30))
    odd = AnswerParts("Plain.", (Passage(1, "Elsewhere."),), places_in("Plain.", (Passage(1, "Elsewhere."),)))
    assert odd.places is None and _spans(odd) == ((1, "Elsewhere."),)
