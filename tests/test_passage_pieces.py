"""Passages' word pieces kept in the listing files (indexer.semantic.pieces): searches by meaning
cut no passage's text, and show the same pages as when they cut every one.

These use the installed embedding model on a copy of the sample corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.index.files import record_files
from indexer.index.held import HeldSearcher, open_held
from indexer.index.listings import EARLIER_MAGIC, MAGIC, SUFFIX, Listings, write
from indexer.index.segment_files import SegmentFile, path_for, whole
from indexer.semantic import query_encoder
from indexer.semantic.query_encoder import QueryEncoder
from support.corpora import SAMPLE_CORPUS, copy_corpus_and_index
from support.segments import live_folder

QUERIES = ["how does the body keep its temperature steady", "what makes prices rise", "entropy heat", "why do we forget things",
           "supply and demand"]


@pytest.fixture(scope="module")
def built(semantic_sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The module's copy of the corpus and its semantic index."""
    return copy_corpus_and_index(semantic_sample, tmp_path_factory.mktemp("pieces"))


@pytest.fixture
def sample(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    return copy_corpus_and_index(built, tmp_path)


def pages(index: Path) -> list[object]:
    """Each query's first page as a fresh service shows it: every field of every result, and the answer box."""
    with SearchService(index) as service:
        shown = [service.search(query) for query in QUERIES]
    return [([vars(hit) for hit in page.results], page.answer and page.answer.id) for page in shown]


def cuts_while(monkeypatch: pytest.MonkeyPatch, index: Path) -> tuple[list[object], list[str]]:
    """The pages, and each text the query encoder cut into pieces meanwhile."""
    cut: list[str] = []
    real = QueryEncoder.cut
    with monkeypatch.context() as patch:
        patch.setattr(QueryEncoder, "cut", lambda self, text: cut.append(text) or real(self, text))
        shown = pages(index)
    return shown, cut


def test_the_listings_keep_each_passages_pieces_as_the_query_encoder_cuts_them(built: tuple[Path, Path]) -> None:
    _, index = built
    folder = live_folder(index)
    encoder = QueryEncoder.load(folder)
    assert encoder is not None
    ix = IndexStore(index).open(IndexStore(index).require_pointer())
    held = open_held(ix)
    try:
        checked = 0
        for leaf, _ in held.searcher.reader().leaf_readers():
            listings = Listings(folder, leaf.segment().segment_id(), leaf.doc_count_all())
            for docnum in range(leaf.doc_count_all()):
                parts = listings.get(docnum).parts
                assert parts.pieces is not None and parts.pieces.tokenizer == encoder.fingerprint
                for number, passage in enumerate(parts.passages):
                    assert parts.pieces.of(number).tolist() == encoder.cut(passage.text).tolist()
                    checked += 1
        assert checked > 100
    finally:
        held.close()
        ix.close()


def test_searches_cut_no_passage_and_show_the_pages_they_showed_cutting_them(
    sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, index = sample
    with_pieces, cut = cuts_while(monkeypatch, index)
    assert all(page for page, _ in with_pieces) and any(answer for _, answer in with_pieces)
    assert cut == []
    # Pieces from another tokenizer are not used: every passage read by meaning is cut as before.
    monkeypatch.setattr(query_encoder, "tokenizer_fingerprint", lambda tokenizer, settings=None: "another tokenizer")
    other, cut = cuts_while(monkeypatch, index)
    assert cut and other == with_pieces
    # And without listings at all (each result made from its stored fields), the same pages.
    monkeypatch.setattr(HeldSearcher, "listing", lambda self, docnum: None)
    assert pages(index) == with_pieces


def test_damaged_pieces_are_cut_from_the_text_instead(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, index = sample
    before, _ = cuts_while(monkeypatch, index)
    folder = live_folder(index)
    for path in folder.glob(f"*{SUFFIX}"):
        footer = _footer(path)
        data = bytearray(path.read_bytes())
        starts = np.frombuffer(bytes(data), dtype="<i8", count=footer["documents"], offset=footer["pieces"]).tolist()
        for start in starts:  # every answer's passage count made impossible, the file's size kept
            data[start : start + 4] = (2**31).to_bytes(4, "little")
        path.write_bytes(bytes(data))
    damaged, cut = cuts_while(monkeypatch, index)
    assert cut and damaged == before


def _footer(path: Path) -> dict[str, int]:
    import json
    import struct

    data = path.read_bytes()
    length, _ = struct.unpack("<Q8s", data[-16:])
    return json.loads(data[-16 - length : -16])


def test_listings_of_the_earlier_format_are_read_and_an_update_gives_them_pieces(
    sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index = sample
    before = pages(index)
    folder = live_folder(index)
    ix = IndexStore(index).open(IndexStore(index).require_pointer())
    try:
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers():
                path = write(folder, leaf)  # records without pieces, as the earlier format's
                data = path.read_bytes()
                path.write_bytes(data[: -len(MAGIC)] + EARLIER_MAGIC)
                assert whole(path, EARLIER_MAGIC) and "tokenizer" not in SegmentFile(path, EARLIER_MAGIC, leaf.doc_count_all()).footer
        record_files(folder, ix.latest_generation())  # (as the build of such an index listed its files)
    finally:
        ix.close()
    read: list[int] = []
    real = Listings.get
    monkeypatch.setattr(Listings, "get", lambda self, docnum: read.append(docnum) or real(self, docnum))
    earlier, cut = cuts_while(monkeypatch, index)
    assert earlier == before and read and cut, "the earlier files served the results, and the passages were cut"
    update_index(corpus, index)  # nothing changed: each listing is written again, with pieces
    for path in folder.glob(f"*{SUFFIX}"):
        assert whole(path, MAGIC)
    after, cut = cuts_while(monkeypatch, index)
    assert after == before and cut == []


def test_an_index_by_words_alone_keeps_no_pieces(tmp_path: Path) -> None:
    build_index(SAMPLE_CORPUS, tmp_path / "index", semantic=False)
    ix = IndexStore(tmp_path / "index").open(IndexStore(tmp_path / "index").require_pointer())
    try:
        (segment,) = ix._segments()
        path = path_for(live_folder(tmp_path / "index"), segment.segment_id(), SUFFIX)
        assert "tokenizer" not in SegmentFile(path, MAGIC, segment.doc_count_all()).footer
        assert Listings(path.parent, segment.segment_id(), segment.doc_count_all()).get(0).parts.pieces is None
    finally:
        ix.close()
