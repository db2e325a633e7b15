"""Filters and sorting through /api/search: subject and year, repeated and combined, counts, newest first, errors.

Over the sample corpus spread across 2023-2025 (:mod:`dated`). The exact
numbers below were counted from that corpus; the agreement test recounts them
from the article files themselves, so the facets are checked against the
corpus, not against the index's own columns.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from dated import UNDATED_ID, write_dated_corpus
from indexer import SearchError, SearchService, build_index

ALL_SUBJECTS_CAUSE = {
    "History": 5, "Medicine": 5, "Chemistry": 2, "Computer Science": 2, "Economics": 2, "Physics": 2, "Psychology": 2, "Biology": 1,
}


@pytest.fixture(scope="module")
def dated_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dated_corpus(tmp_path_factory.mktemp("dated") / "corpus")


@pytest.fixture(scope="module")
def dated_index(dated_corpus: Path) -> Path:
    target = dated_corpus.parent / "index"
    build_index(dated_corpus, target)
    return target


@pytest.fixture(scope="module")
def api(dated_index: Path) -> Any:
    from webapp import create_app

    client = create_app({"TESTING": True, "INDEX_DIR": str(dated_index)}).test_client()

    def get(query: str, status: int = 200) -> dict[str, Any]:
        response = client.get(f"/api/search?{query}")
        assert response.status_code == status, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    return get


@pytest.fixture(scope="module")
def articles(dated_corpus: Path) -> dict[int, dict[str, Any]]:
    """Every article's front matter, read from the files, by id."""
    found = {}
    for path in dated_corpus.rglob("*.md"):
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        found[front["id"]] = front
    return found


def test_no_filter_counts_every_match_per_subject_and_per_year(api: Any) -> None:
    body = api("q=cause&per_page=50")
    assert body["total"] == 21
    assert body["facets"] == {"subject": ALL_SUBJECTS_CAUSE, "year": {"2025": 8, "2024": 6, "2023": 7}}
    assert list(body["facets"]["year"]) == ["2025", "2024", "2023"], "newest year first"


def test_each_facet_counts_within_the_other_facets_filter(api: Any) -> None:
    by_year = api("q=cause&year=2025&per_page=50")
    assert by_year["total"] == 8 and {hit["date"][:4] for hit in by_year["results"]} == {"2025"}
    assert by_year["facets"] == {
        "subject": {"History": 4, "Computer Science": 2, "Economics": 2},  # only 2025's matches
        "year": {"2025": 8, "2024": 6, "2023": 7},  # not narrowed by its own filter
    }
    both = api("q=cause&year=2025&subject=History&per_page=50")
    assert both["total"] == 4
    assert {(hit["subject"], hit["date"][:4]) for hit in both["results"]} == {("History", "2025")}
    assert both["facets"] == {
        "subject": {"History": 4, "Computer Science": 2, "Economics": 2},  # under year=2025
        "year": {"2025": 4, "2024": 1},  # History's matches by year
    }


def test_a_repeated_filter_means_either(api: Any) -> None:
    either = api("q=cause&subject=History&subject=Medicine&per_page=50")
    assert either["total"] == 10 and {hit["subject"] for hit in either["results"]} == {"History", "Medicine"}
    assert either["facets"]["subject"] == ALL_SUBJECTS_CAUSE
    assert either["facets"]["year"] == {"2025": 4, "2024": 1, "2023": 5}
    years = api("q=cause&year=2024&year=2025&per_page=50")
    assert years["total"] == 14 and {hit["date"][:4] for hit in years["results"]} == {"2024", "2025"}
    combined = api("q=cause&year=2023&year=2025&subject=History&subject=Medicine&per_page=50")
    assert combined["total"] == 9
    assert combined["facets"]["subject"] == {"Medicine": 5, "History": 4, "Computer Science": 2, "Economics": 2, "Psychology": 2}
    # Order and repeats of the values do not matter.
    same = api("q=cause&subject=Medicine&year=2025&subject=History&year=2023&year=2023&per_page=50")
    assert [hit["id"] for hit in same["results"]] == [hit["id"] for hit in combined["results"]]


@pytest.mark.parametrize("q", ["cause", "change", "drug", "energy"])
def test_counts_agree_with_the_corpus_files(api: Any, articles: dict[int, dict[str, Any]], q: str) -> None:
    """Every facet count, under every one-value filter of the other facet, recounted from the articles' files."""
    everything = api(f"q={q}&per_page=50")
    matched = [articles[hit["id"]] for hit in everything["results"]]
    assert len(matched) == everything["total"]
    subjects = sorted({front["subject"] for front in matched})
    years = sorted({str(front["date"])[:4] for front in matched if front.get("date")})
    for subject, year in itertools.product([None, *subjects], [None, *years]):
        query = f"q={q}&per_page=50" + (f"&subject={subject}" if subject else "") + (f"&year={year}" if year else "")
        body = api(query)
        in_year = [front for front in matched if year is None or str(front.get("date", ""))[:4] == year]
        in_subject = [front for front in matched if subject is None or front["subject"] == subject]
        assert body["facets"]["subject"] == dict(Counter(front["subject"] for front in in_year)), query
        assert body["facets"]["year"] == dict(Counter(str(front["date"])[:4] for front in in_subject if front.get("date"))), query
        assert body["total"] == len([front for front in in_year if front in in_subject]), query


def test_newest_orders_by_date_undated_last_ties_by_relevance(api: Any, articles: dict[int, dict[str, Any]]) -> None:
    relevance = api("q=change&per_page=50")
    newest = api("q=change&sort=newest&per_page=50")
    assert newest["total"] == relevance["total"] == 28
    assert sorted(hit["id"] for hit in newest["results"]) == sorted(hit["id"] for hit in relevance["results"])
    dates = [hit["date"] for hit in newest["results"]]
    assert dates[-1] is None and newest["results"][-1]["id"] == UNDATED_ID, "the undated article comes last"
    assert dates[:-1] == sorted(dates[:-1], reverse=True)
    # The dates shown are the articles' own.
    assert all(str(articles[hit["id"]].get("date")) == str(hit["date"]) for hit in newest["results"] if hit["date"])
    assert newest["facets"] == relevance["facets"], "sorting changes the order only"
    assert relevance["results"][0]["date"] != dates[0], "relevance is not date order here"


def test_newest_keeps_its_order_across_pages_and_filters(api: Any) -> None:
    whole = [hit["id"] for hit in api("q=change&sort=newest&per_page=50")["results"]]
    paged = [hit["id"] for page in (1, 2, 3) for hit in api(f"q=change&sort=newest&per_page=10&page={page}")["results"]]
    assert paged == whole
    filtered = api("q=change&sort=newest&year=2023&per_page=50")
    assert filtered["total"] == 10
    assert [hit["id"] for hit in filtered["results"]] == [id_ for id_ in whole if id_ in {hit["id"] for hit in filtered["results"]}]


def test_same_date_ties_are_broken_by_relevance(tmp_path: Path, make_article: Any) -> None:
    day = "2024-03-01"
    for number, (slug, title) in enumerate([("weak", "Quokka"), ("strong", "Quokka quokka quokka"), ("later", "Quokka")]):
        make_article(tmp_path / "corpus", slug=slug, id=900001 + number, title=title, url=f"/learn/testing/questions/{slug}",
                     date="2024-06-01" if slug == "later" else day, answer=f"{title}.")
    build_index(tmp_path / "corpus", tmp_path / "index")
    with SearchService(tmp_path / "index") as service:
        relevance = [hit.url.rpartition("/")[2] for hit in service.search("quokka").results]
        newest = [hit.url.rpartition("/")[2] for hit in service.search("quokka", sort="newest").results]
    assert relevance[0] == "strong"
    assert newest == ["later", "strong", "weak"]


def test_empty_values_are_no_filter(api: Any) -> None:
    plain = api("q=cause&per_page=50")
    body = api("q=cause&per_page=50&subject=&year=&sort=")
    assert (body["total"], body["facets"], [hit["id"] for hit in body["results"]]) == (
        plain["total"], plain["facets"], [hit["id"] for hit in plain["results"]]
    )


def test_a_filter_with_no_match_is_an_empty_page_with_the_other_counts(api: Any) -> None:
    body = api("q=cause&year=1999")
    assert (body["ok"], body["total"], body["results"]) == (True, 0, [])
    assert body["facets"] == {"subject": {}, "year": {"2025": 8, "2024": 6, "2023": 7}}
    nothing = api("q=cause&subject=No+Such+Subject")
    assert nothing["total"] == 0 and nothing["facets"]["subject"] == ALL_SUBJECTS_CAUSE and nothing["facets"]["year"] == {}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("year=25", "year must be four digits, such as year=2025 (got '25')"),
        ("year=2025-01", "year must be four digits, such as year=2025 (got '2025-01')"),
        ("year=two", "year must be four digits, such as year=2025 (got 'two')"),
        ("year=%D9%A2%D9%A0%D9%A2%D9%A5", "year must be four digits, such as year=2025 (got '٢٠٢٥')"),
        ("year=2025&year=x", "year must be four digits, such as year=2025 (got 'x')"),
        ("sort=oldest", "sort must be one of relevance, newest; for example sort=newest"),
        ("sort=Newest", "sort must be one of relevance, newest; for example sort=newest"),
        ("year=" + "&year=".join(["2025"] * 21), "year may be given at most 20 times in one search"),
        ("subject=" + "&subject=".join(["Medicine"] * 21), "subject may be given at most 20 times in one search"),
    ],
)
def test_bad_filters_and_sorts_are_400_saying_what_is_allowed(api: Any, query: str, message: str) -> None:
    assert api(f"q=cause&{query}", status=400) == {"ok": False, "error": message, "status": 400}


def test_library_accepts_one_value_or_several(dated_index: Path) -> None:
    with SearchService(dated_index) as service:
        assert service.search("cause", year=2025).total == service.search("cause", year="2025").total == 8
        assert service.search("cause", year=[2024, "2025"], subject=("History",)).total == 5
        assert service.search("cause", subject="History").subject == "History"
        several = service.search("cause", subject=["Medicine", "History"])
        assert several.subjects == ("History", "Medicine") and several.subject is None
        for bad in ({"year": 12345}, {"year": -1}, {"year": "20x5"}, {"year": True}, {"sort": "date"}):
            with pytest.raises(SearchError):
                service.search("cause", **bad)  # type: ignore[arg-type]


def test_results_are_cached_per_filter_and_sort(dated_index: Path) -> None:
    with SearchService(dated_index) as service:
        first = [hit.id for hit in service.search("cause", per_page=50).results]
        assert [hit.id for hit in service.search("cause", per_page=50, year=2025).results] != first
        assert [hit.id for hit in service.search("cause", per_page=50, sort="newest").results] != first
        assert service.search("cause", per_page=50, subject="History").total == 5
        assert [hit.id for hit in service.search("cause", per_page=50).results] == first


def test_ranked_ids_keep_their_subject_filter(dated_index: Path) -> None:
    with SearchService(dated_index) as service:
        everything = service.ranked_ids("cause", 50)
        history = service.ranked_ids("cause", 50, subject="History")
        assert len(everything) == 21 and len(history) == 5
        assert history == [id_ for id_ in everything if id_ in set(history)]
