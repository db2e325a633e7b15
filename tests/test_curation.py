"""The maintainers' synonyms and pinned answers: read from the corpus root, applied from the next update on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import IndexStore, SearchService, update_index
from indexer.corpus.curation import PINS_FILE, SYNONYMS_FILE, Curation, read_curation
from webapp.cli import cli

TOLERANCE_ID, TOLERANCE_URL = 500001, "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
WITHDRAWAL_ID = 500005


def test_synonyms_read_as_solr_writes_them(tmp_path: Path) -> None:
    (tmp_path / SYNONYMS_FILE).write_text(
        "# equivalents, one way, and mistakes\n"
        "heart attack, myocardial infarction,  MI\n"
        "flu => influenza\n"
        "a => b => c\n"
        "lonely\n"
        "x, , y   # an empty term\n"
        "jab, shot # a comment after the terms\n",
        "utf-8",
    )
    curation, errors = read_curation(tmp_path)
    assert curation.synonyms == {
        "heart attack": ("myocardial infarction", "mi"),
        "myocardial infarction": ("heart attack", "mi"),
        "mi": ("heart attack", "myocardial infarction"),
        "flu": ("influenza",),
        "jab": ("shot",),
        "shot": ("jab",),
    }
    assert "influenza" not in curation.synonyms, "'=>' maps one way only"
    assert [(error.source, error.line) for error in errors] == [(SYNONYMS_FILE, 4), (SYNONYMS_FILE, 5), (SYNONYMS_FILE, 6)]
    assert "more than one '=>'" in errors[0].reason and "a term alone" in errors[1].reason
    assert curation.also_for(("signs", "of", "a", "Heart", "attack?")) == ["myocardial infarction", "mi"]


def test_pins_read_with_their_lines(tmp_path: Path) -> None:
    (tmp_path / PINS_FILE).write_text(
        "Drug  Tolerance?: [500001, 500005]\nwithdrawal: 500005\nbroken: [one]\n", "utf-8"
    )
    curation, errors = read_curation(tmp_path)
    assert curation.pins == {"drug tolerance": (500001, 500005), "withdrawal": (500005,)}
    assert curation.pinned("  DRUG tolerance ") == (500001, 500005)
    assert [(error.source, error.line) for error in errors] == [(PINS_FILE, 3)]
    assert Curation.from_json(curation.to_json()) == curation


def test_a_synonym_added_then_index_update_finds_the_article_it_names(corpus_dir: Path, index_dir: Path) -> None:
    with SearchService(index_dir, refresh_seconds=0, semantic=False) as service:
        assert service.search("tachyphylaxis").total == 0
        before = IndexStore(index_dir).require_pointer()
        (corpus_dir / SYNONYMS_FILE).write_text("tachyphylaxis, drug tolerance\n", "utf-8")
        report = update_index(corpus_dir, index_dir)
        assert report.curated and report.rebuilt is None and report.touched == 0
        after = IndexStore(index_dir).require_pointer()
        assert after.dir == before.dir and after.generation == before.generation + 1, "an update, not a build"
        results = service.search("tachyphylaxis")
        assert results.results[0].url == TOLERANCE_URL
        assert "tolerance" in results.results[0].matched_terms
        assert "<mark>tolerance</mark>" in results.results[0].title_html.lower()
        assert update_index(corpus_dir, index_dir).curated is False, "unchanged files change nothing"


def test_a_pin_puts_its_article_first_and_says_so(corpus_dir: Path, index_dir: Path) -> None:
    (corpus_dir / PINS_FILE).write_text(f"drug tolerance: [{WITHDRAWAL_ID}, {TOLERANCE_ID}]\n", "utf-8")
    update_index(corpus_dir, index_dir)
    with SearchService(index_dir, semantic=False) as service:
        plain = service.search("opioid receptor")
        pinned = service.search("Drug tolerance", per_page=5)
        ids = service.ranked_ids("drug tolerance", 5)
    assert [hit.id for hit in pinned.results[:2]] == [WITHDRAWAL_ID, TOLERANCE_ID]
    assert [hit.pinned for hit in pinned.results] == [True, True, False, False, False]
    assert ids[:2] == [WITHDRAWAL_ID, TOLERANCE_ID], "the evaluation sees what a student sees"
    assert len({hit.id for hit in pinned.results}) == 5, "a pinned article is not listed twice"
    assert pinned.as_dict()["results"][0]["pinned"] is True
    assert not any(hit.pinned for hit in plain.results)


@pytest.mark.parametrize("as_json", [False, True])
def test_index_check_reports_bad_curation_with_path_and_line(corpus_dir: Path, as_json: bool) -> None:
    (corpus_dir / PINS_FILE).write_text(f"drug tolerance: [{TOLERANCE_ID}]\nwithdrawal: [999999999]\n", "utf-8")
    (corpus_dir / SYNONYMS_FILE).write_text("ok, fine\nlonely\n", "utf-8")
    result = CliRunner().invoke(cli, ["index", "check", "--corpus", str(corpus_dir), *(["--json"] if as_json else [])])
    assert result.exit_code == 1
    if as_json:
        errors = json.loads(result.stdout)["errors"]
        assert {(error["path"], error["line"]) for error in errors} == {(PINS_FILE, 2), (SYNONYMS_FILE, 2)}
    else:
        assert f"{PINS_FILE}:2: 'withdrawal' pins article 999999999, which no article has" in result.stdout
        assert f"{SYNONYMS_FILE}:2: a term alone" in result.stdout
