"""Searching the sample corpus: syntax, ranking, highlighting, spelling and completions."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import SearchError, SearchService, build_index
from indexer.search.highlight import Highlighter
from indexer.search.query import MAX_QUERY_CHARS
from support.corpora import article_text

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"


@pytest.fixture(scope="module")
def service(sample_index: Path) -> SearchService:
    return SearchService(sample_index)


def urls(service: SearchService, query: str, **options: object) -> list[str]:
    return [hit.url for hit in service.search(query, **options).results]  # type: ignore[arg-type]


def test_stems_match_and_are_marked(service: SearchService) -> None:
    hit = service.search("tolerant").results[0]
    assert hit.url == TOLERANCE_URL
    assert "<mark>tolerance</mark>" in hit.title_html
    assert "tolerance" in hit.matched_terms


def test_title_match_beats_a_keyword_mention(service: SearchService) -> None:
    assert urls(service, "tolerance")[0] == TOLERANCE_URL


def test_whole_query_as_a_keyword_helps(service: SearchService) -> None:
    # "enzyme induction" is one of the tolerance article's keywords.
    assert TOLERANCE_URL in urls(service, "enzyme induction")[:2]


def test_phrase_requires_words_together(service: SearchService) -> None:
    loose = service.search("tolerance cross").total
    phrase = service.search('"cross-tolerance"').total
    assert 0 < phrase < loose


def test_minus_excludes_a_word(service: SearchService) -> None:
    assert TOLERANCE_URL in urls(service, "tolerance", per_page=50)
    assert TOLERANCE_URL not in urls(service, "tolerance -opioids", per_page=50)


def test_or_widens_and_and_narrows(service: SearchService) -> None:
    either = service.search("photosynthesis OR relativity").total
    both = service.search("photosynthesis AND relativity").total
    assert either >= 2 and both < either


def test_more_matched_words_rank_higher(service: SearchService) -> None:
    results = service.search("liver enzymes metabolize drugs").results
    assert "cytochrome-p450" in results[0].url


@pytest.mark.parametrize(
    "query, words",
    [
        ('"unclosed quote', "unclosed quote"),
        ("(tolerance", "tolerance"),
        ("tolerance)", "tolerance"),
        ("answer:tolerance", "answer tolerance"),
        ("unknownfield:x", "unknownfield x"),
        ("\x00\x01tolerance", "tolerance"),
        ("tolérance", "tolerance"),
    ],
)
def test_malformed_or_odd_syntax_searches_its_plain_words(service: SearchService, query: str, words: str) -> None:
    """Broken syntax never raises: the query finds exactly what its words alone find."""
    results, plain = service.search(query), service.search(words)
    assert plain.total > 0, "the comparison means something only if the words match"
    assert results.total == plain.total
    assert [hit.url for hit in results.results] == [hit.url for hit in plain.results]
    for hit in results.results:
        assert "<script" not in hit.snippet_html


@pytest.mark.parametrize("query", ["a AND", "NOT", "-", "***", "???", "(unbalanced"])
def test_operators_and_punctuation_alone_find_nothing(service: SearchService, query: str) -> None:
    results = service.search(query)
    assert results.total == 0 and len(results.results) == 0


def test_accents_are_folded(service: SearchService) -> None:
    assert urls(service, "tolérance")[:1] == [TOLERANCE_URL]


def test_empty_query_has_no_results(service: SearchService) -> None:
    assert service.search("   ").total == 0


def test_long_query_is_cut_not_rejected(service: SearchService) -> None:
    results = service.search("tolerance " * 2000)
    assert len(results.query) <= MAX_QUERY_CHARS
    assert results.results[0].url == TOLERANCE_URL


@pytest.mark.parametrize(("page", "per_page", "message"), [(0, 10, "page must be between 1 and 1000"), (1001, 10, "page must be"), (1, 0, "per_page must be between 1 and 50"), (1, 51, "per_page")])
def test_page_bounds_are_checked(service: SearchService, page: int, per_page: int, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        service.search("tolerance", page=page, per_page=per_page)


def test_pages_do_not_overlap(service: SearchService) -> None:
    first = urls(service, "what", per_page=5)
    second = urls(service, "what", page=2, per_page=5)
    assert len(first) == 5 and second and not set(first) & set(second)


def test_subject_filter_keeps_facet_counts(service: SearchService) -> None:
    everything = service.search("drug")
    medicine = service.search("drug", subject="Medicine")
    assert {hit.subject for hit in medicine.results} == {"Medicine"}
    assert medicine.total == everything.facets["Medicine"]
    assert medicine.facets == everything.facets
    assert len(everything.facets) >= 2


def test_did_you_mean_corrects_misspellings(service: SearchService) -> None:
    assert service.search("drug tolerence").suggestion == "drug tolerance"
    assert service.search("drug tolerance").suggestion is None


def test_misspelt_word_is_retried_corrected(service: SearchService) -> None:
    results = service.search("photosinthesis light")
    assert results.corrected == "photosynthesis light"
    assert results.query == "photosinthesis light" and results.suggestion is None
    assert "photosynthesis" in results.results[0].url
    assert "<mark>" in results.results[0].title_html


def test_ranked_ids_retry_as_the_search_page_does(service: SearchService) -> None:
    """The evaluation scores ranked_ids: it must be the ranking a student sees, corrections included."""
    for query in ("photosinthesis light", "drug tolerence", "tolerance"):
        assert service.ranked_ids(query, 10) == [hit.id for hit in service.search(query, per_page=10).results], query


def test_a_query_the_correction_rescues_is_ranked_once(service: SearchService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt word that matches nothing: the corrected query is ranked, the misspelt one is not as well."""
    ranked: list[str] = []
    rank = service._ranked
    monkeypatch.setattr(service, "_ranked", lambda held, parsed, *rest: ranked.append(parsed.text) or rank(held, parsed, *rest))
    # (queries no other test asks: the results cache would answer without ranking)
    assert service.search("light photosinthesis").corrected == "light photosynthesis"
    assert ranked == ["light photosynthesis"]
    ranked.clear()
    assert service.search("xyzzyqq tolerance").unmatched == ("xyzzyqq",)  # no correction finds more: as typed
    assert ranked[-1] == "xyzzyqq tolerance"


def test_no_retry_when_every_word_matches(service: SearchService) -> None:
    results = service.search("drug tolerence")  # the stem of the typo matches: no retry, but a suggestion
    assert results.corrected is None and results.suggestion == "drug tolerance"


def test_unmatched_words_are_named(service: SearchService) -> None:
    results = service.search("tolerance xyzzyqq")
    assert results.unmatched == ("xyzzyqq",)
    assert results.results[0].url == TOLERANCE_URL


def test_suggest_completes_titles_keywords_and_words(service: SearchService) -> None:
    assert "drug tolerance" in service.suggest("drug tol")
    assert any(item.startswith("what mechanisms contribute") for item in service.suggest("what mechanisms"))
    assert service.suggest("") == []
    assert len(service.suggest("t", limit=3)) == 3


def test_article_lookup_by_url_and_id(service: SearchService) -> None:
    article = service.article(url=TOLERANCE_URL)
    assert article is not None and service.article(article_id=article.id) == article
    assert service.article(url="/nope") is None
    assert service.article(article_id=-5) is None


def test_time_limit_returns_partial_results_quickly(sample_index: Path) -> None:
    with SearchService(sample_index, time_limit=1e-9) as hurried:
        results = hurried.search("drug tolerance mechanisms")
        assert results.partial is True
        assert results.as_dict()["partial"] is True
        assert results.total < 25
    with SearchService(sample_index) as patient:
        full = patient.search("drug tolerance mechanisms")
        assert full.partial is False and full.total == 25


def test_repeated_query_is_served_from_cache(service: SearchService) -> None:
    first = service.search("neurotransmitter synapse")
    again = service.search("neurotransmitter synapse")
    assert again.results == first.results
    assert again.took_ms < first.took_ms


def test_highlighter_escapes_everything_but_mark() -> None:
    highlighter = Highlighter(["script", "toler"])
    marked = highlighter.mark('<script>alert("tolerance")</script> & tolerant')
    assert marked == '&lt;<mark>script</mark>&gt;alert(&quot;<mark>tolerance</mark>&quot;)&lt;/<mark>script</mark>&gt; &amp; <mark>tolerant</mark>'


def test_mark_html_leaves_tags_and_code_alone() -> None:
    highlighter = Highlighter(["toler"])
    fragment = '<p title="tolerance">Tolerance <code>tolerance</code> &amp; <a href="/tolerance">tolerant</a></p>'
    assert highlighter.mark_html(fragment) == (
        '<p title="tolerance"><mark>Tolerance</mark> <code>tolerance</code> &amp; <a href="/tolerance"><mark>tolerant</mark></a></p>'
    )


def test_new_generation_is_seen_without_restart(corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    service = SearchService(index_dir, refresh_seconds=0)
    assert service.search("quokkafish").total == 0
    make_article(corpus_dir / "testing", slug="quokka", id=999_002, title="What is a quokkafish?")
    build_index(corpus_dir, index_dir)
    assert service.search("quokkafish").total == 1


def test_an_article_with_an_empty_field_is_found_by_a_word_of_that_field_in_another(tmp_path: Path) -> None:
    """Whoosh gives an empty field's length as None: scoring read it as a number and answered 500."""
    corpus = tmp_path / "corpus"
    (corpus / "testing").mkdir(parents=True)
    (corpus / "testing" / "keyworded.md").write_text(
        article_text(slug="keyworded", id=990_301, title="Alpha quagga", answer="A quagga."), encoding="utf-8")
    (corpus / "testing" / "no-keywords.md").write_text(
        article_text(slug="no-keywords", id=990_302, title="Beta quagga", answer="Another quagga.",
                     seo={"title": "T", "page_description": "D", "page_keywords": ""}), encoding="utf-8")
    build_index(corpus, tmp_path / "index")
    with SearchService(tmp_path / "index") as service:
        found = service.search("fixtures quagga")  # "fixtures" is one of the first article's keywords
    assert found.total == 2 and found.results[0].url == "/learn/testing/questions/keyworded"
