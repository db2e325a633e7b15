"""The JSON API: exact shapes of /api/search, /api/suggest, /api/articles/<id>, /healthz and every error."""

from __future__ import annotations

from typing import Any

import pytest

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
TOLERANCE_ID = 500001
RESULT_KEYS = ["id", "title", "title_html", "url", "subject", "snippet_html", "score", "date", "matched_terms", "pinned", "passage_html", "passage_url"]
SEARCH_KEYS = [
    "ok", "query", "total", "page", "per_page", "took_ms", "suggestion", "facets", "results", "unmatched", "generation", "corrected", "partial", "answer", "search_id",
]


def test_search_shape_and_ranking(client: Any) -> None:
    response = client.get("/api/search?q=drug+tolerance+mechanisms&per_page=3")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == SEARCH_KEYS
    assert body["ok"] is True
    assert body["query"] == "drug tolerance mechanisms"
    assert (body["page"], body["per_page"]) == (1, 3)
    assert body["total"] > 3 and len(body["results"]) == 3
    assert isinstance(body["took_ms"], (int, float)) and body["took_ms"] >= 0
    assert body["suggestion"] is None
    assert list(body["facets"]) == ["subject", "year"]
    assert body["facets"]["year"] == {"2025": body["total"]}
    assert body["facets"]["subject"]["Medicine"] >= 1
    assert sum(body["facets"]["subject"].values()) == body["total"]
    first = body["results"][0]
    assert list(first) == RESULT_KEYS
    assert first["id"] == TOLERANCE_ID and first["url"] == TOLERANCE_URL
    assert "<mark>tolerance</mark>" in first["title_html"]
    assert "<mark>" in first["snippet_html"]
    assert "<mark>" in first["passage_html"] and first["passage_url"].startswith(TOLERANCE_URL + "?q=drug+tolerance+mechanisms#passage-")
    assert body["answer"] == {key: first[key] for key in ("id", "title", "url", "passage_html", "passage_url")}
    assert first["date"] == "2025-01-06"
    assert first["subject"] == "Medicine"
    assert [hit["score"] for hit in body["results"]] == sorted((hit["score"] for hit in body["results"]), reverse=True)


def test_search_pages_and_subject_filter(client: Any) -> None:
    everything = client.get("/api/search?q=drug+tolerance+mechanisms&per_page=50").get_json()
    second = client.get("/api/search?q=drug+tolerance+mechanisms&per_page=4&page=2").get_json()
    assert [hit["id"] for hit in second["results"]] == [hit["id"] for hit in everything["results"][4:8]]
    medicine = client.get("/api/search?q=drug+tolerance+mechanisms&subject=Medicine&per_page=50").get_json()
    assert medicine["total"] == everything["facets"]["subject"]["Medicine"]
    assert {hit["subject"] for hit in medicine["results"]} == {"Medicine"}
    assert medicine["facets"]["subject"] == everything["facets"]["subject"], "subject counts ignore the subject filter"
    assert medicine["facets"]["year"] == {"2025": medicine["total"]}, "year counts respect it"


def test_search_page_past_the_end_is_empty_not_an_error(client: Any) -> None:
    body = client.get("/api/search?q=drug&page=999").get_json()
    assert body["ok"] is True and body["results"] == [] and body["total"] > 0


def test_search_suggestion_and_unmatched(client: Any) -> None:
    assert client.get("/api/search?q=tolerence").get_json()["suggestion"] == "tolerance"
    body = client.get("/api/search?q=drug+zzqxv").get_json()
    assert body["unmatched"] == ["zzqxv"] and body["total"] > 0


@pytest.mark.parametrize("q", ["", "   ", "*", "the"])
def test_search_with_nothing_to_search_is_empty(client: Any, q: str) -> None:
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["ok"], body["total"], body["results"], body["facets"]) == (True, 0, [], {"subject": {}, "year": {}})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=-1", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=1001", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=1000000000", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=10**9", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=abc", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=1.5", "page must be a whole number from 1 to 1000; for example page=1"),
        ("page=%D9%A3", "page must be a whole number from 1 to 1000; for example page=1"),  # Arabic-Indic 3
        ("page=" + "9" * 5000, "page must be a whole number from 1 to 1000; for example page=1"),
        ("per_page=0", "per_page must be a whole number from 1 to 50; for example per_page=10"),
        ("per_page=51", "per_page must be a whole number from 1 to 50; for example per_page=10"),
        ("per_page=ten", "per_page must be a whole number from 1 to 50; for example per_page=10"),
        ("per_page=%0B", "per_page must be a whole number from 1 to 50; for example per_page=10"),  # white space is not empty
        ("page=%202", "page must be a whole number from 1 to 1000; for example page=1"),
    ],
)
def test_search_bad_numbers_are_400_saying_the_limits(client: Any, query: str, message: str) -> None:
    response = client.get(f"/api/search?q=drug&{query}")
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "error": message, "status": 400}


@pytest.mark.parametrize(("query", "page", "per_page"), [("page=2.0", 2, 10), ("per_page=3.00", 1, 3), ("page=%2B2&per_page=", 2, 10)])
def test_search_whole_numbers_as_json_schema_reads_them(client: Any, query: str, page: int, per_page: int) -> None:
    """``2.0`` is an integer to JSON Schema (and to clients generated from /openapi.json); empty is the default."""
    body = client.get(f"/api/search?q=drug&{query}").get_json()
    assert (body["ok"], body["page"], body["per_page"]) == (True, page, per_page)


def test_suggest_shape(client: Any) -> None:
    response = client.get("/api/suggest?q=dru")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["ok", "query", "suggestions"]
    assert body["ok"] is True and body["query"] == "dru"
    assert body["suggestions"] and all(s.startswith("dru") for s in body["suggestions"])
    assert "drug tolerance" in body["suggestions"]
    assert len(client.get("/api/suggest?q=dru&limit=2").get_json()["suggestions"]) == 2
    assert client.get("/api/suggest?q=").get_json()["suggestions"] == []


@pytest.mark.parametrize("limit", ["1000", "%0B", "%20", "%09%0A"])
def test_suggest_bad_limit(client: Any, limit: str) -> None:
    response = client.get(f"/api/suggest?q=dru&limit={limit}")
    assert response.status_code == 400
    assert response.get_json()["error"] == "limit must be a whole number from 1 to 20; for example limit=8"


def test_article_shape(client: Any) -> None:
    response = client.get(f"/api/articles/{TOLERANCE_ID}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True
    assert body["id"] == TOLERANCE_ID and body["url"] == TOLERANCE_URL
    assert body["title"] == "What mechanisms contribute to the development of drug tolerance?"
    assert body["subject"] == "Medicine" and body["date"] == "2025-01-06"
    assert "\n\n1. **Pharmacokinetic" in body["answer"], "the seed's literal \\n are real line breaks"
    assert set(body["seo"]) == {"title", "page_description", "page_keywords"}
    assert "drug tolerance" in body["seo"]["page_keywords"]
    assert body["related"][0] == {
        "id": 500002,
        "title": "What is the difference between drug dependence and addiction?",
        "subject": "Medicine",
        "url": "/learn/medicine/questions/what-is-the-difference-between-drug-dependence-and-addiction",
    }


@pytest.mark.parametrize(
    ("article_id", "message"),
    [
        ("999999999", "no article has id 999999999: find one with /api/search?q=words"),
        ("abc", "article ids are whole numbers: find one with /api/search?q=words"),
        ("-1", "article ids are whole numbers: find one with /api/search?q=words"),
        ("9" * 40, "article ids are whole numbers: find one with /api/search?q=words"),
        ("%3Cscript%3E", "article ids are whole numbers: find one with /api/search?q=words"),
    ],
)
def test_article_not_found(client: Any, article_id: str, message: str) -> None:
    response = client.get(f"/api/articles/{article_id}")
    assert response.status_code == 404
    assert response.get_json() == {"ok": False, "error": message, "status": 404}


def test_healthz(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["ok", "documents", "generation", "built_at", "updated_at"]
    assert body["ok"] is True and body["documents"] >= 44 and body["generation"] >= 1


@pytest.mark.parametrize("path", ["/api/nothing", "/api/", "/api", "/api/search/extra", "/api/articles/"])
def test_unknown_api_urls_are_json_404(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 404
    assert "/api/search?q=" in body["error"]


@pytest.mark.parametrize("path", ["/api/search?q=x", "/api/suggest?q=x", "/api/articles/500001", "/healthz"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_api_answers_get_only(client: Any, path: str, method: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.get_json() == {"ok": False, "error": "this url answers GET only: send a GET request", "status": 405}
    assert "GET" in response.headers["Allow"]


def test_json_escapes_markup_outside_mark(client: Any) -> None:
    response = client.get("/api/search?q=%3Cscript%3Ealert(1)%3C/script%3E+drug")
    text = response.get_data(as_text=True)
    assert "<script" not in text.lower()
    assert "<mark>" in text, "*_html values stay readable in the raw body"
    assert response.get_json()["query"] == "<script>alert(1)</script> drug"


def test_api_has_security_headers(client: Any) -> None:
    response = client.get("/api/search?q=drug")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
