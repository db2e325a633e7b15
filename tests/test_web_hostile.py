"""Hostile input on every route: never a 500, never markup reflected unescaped, errors say what to do."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
ROUTES = ["/", "/search", TOLERANCE_URL, TOLERANCE_URL + "/", "/api/search", "/api/suggest", "/api/articles/500001", "/healthz"]
JSON_ROUTES = {"/api/search", "/api/suggest", "/api/articles/500001", "/healthz"}

#: Raw, already-encoded query strings, so invalid UTF-8 and odd escapes reach the app as sent.
HOSTILE = {
    "empty": "q=",
    "whitespace": "q=%20%20%09%0A%0D",
    "10k chars": "q=" + quote("drug tolerance " * 667),
    "10k one word": "q=" + "a" * 10_000,
    "unclosed quote": "q=%22drug+tolerance",
    "unclosed paren": "q=((drug+tolerance",
    "extra paren": "q=drug))+OR+(",
    "lone star": "q=*",
    "lone question": "q=%3F",
    "star and question": "q=dr*g+t%3Flerance",
    "answer field": "q=answer%3Adrug",
    "unknown field": "q=unknownfield%3Atolerance",
    "only operators": "q=AND+OR+NOT+-",
    "NUL": "q=drug%00tolerance",
    "control chars": "q=%01%02%1b%7f%c2%85drug",
    "invalid utf-8": "q=%ff%fe",
    "overlong utf-8": "q=%c0%af%e0%80%af",
    "lone surrogate": "q=%ed%a0%80",
    "bad percent escape": "q=%&page=%zz",
    "emoji": "q=" + quote("💊 drug 🧪") ,
    "right-to-left": "q=" + quote("مقاومة الدواء \u202edrug\u202c סבילות"),
    "page=-1": "q=drug&page=-1",
    "page=10**9": "q=drug&page=1000000000",
    "page=10**9 literally": "q=drug&page=10**9",
    "per_page=0": "q=drug&per_page=0",
    "per_page huge": "q=drug&per_page=99999999999999999999999",
    "limit=-5": "q=dru&limit=-5",
    "subject=<script>": "q=drug&subject=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "subject invalid utf-8": "q=drug&subject=%ff",
    "q=<script>": "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "attribute breakout": "q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Cx+y%3D%22",
    "repeated params": "q=a&q=%3Cscript%3E&page=1&page=-3",
    "keys without values": "q&page&per_page&subject",
}

@pytest.fixture(scope="module")
def client(sample_index: Any) -> Any:
    """One app for the whole module: hundreds of requests, no need to reopen the index for each."""
    from webapp import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(sample_index)}).test_client()


ADVICE = re.compile(r"must|find one|send a|check|build|try|answers", re.IGNORECASE)
#: The pages' own scripts (the search box), the only <script> a page may hold.
OWN_SCRIPT = re.compile(r'<script src="/static/[\w.-]+\.js(?:\?v=[0-9a-f]+)?" defer></script>')


def assert_safe(response: Any, route: str) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    body = OWN_SCRIPT.sub("", response.get_data(as_text=True))
    assert "<script" not in body.lower(), "markup from the request is never reflected unescaped"
    assert "<x y=" not in body.lower()
    if route in JSON_ROUTES or route.startswith("/api/"):
        assert response.mimetype == "application/json"
        data = response.get_json()
        if response.status_code >= 400:
            assert data == {"ok": False, "error": data["error"], "status": response.status_code}
            assert ADVICE.search(data["error"]), f"the error says what to do: {data['error']!r}"
        else:
            assert data["ok"] is True
            for hit in data.get("results", []):
                for key in ("title_html", "snippet_html"):
                    assert re.sub(r"</?mark>", "", hit[key]).count("<") == 0, "only <mark> is markup in *_html"
    else:
        assert response.mimetype == "text/html"
        if response.status_code >= 400:
            assert 'id="error-title"' in body and 'href="/search"' in body


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("query", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_parameters(client: Any, route: str, query: str) -> None:
    response = client.get(f"{route}?{query}")
    if response.status_code in (301, 302, 308):
        response = client.get(response.headers["Location"])
    assert_safe(response, route)


@pytest.mark.parametrize(
    "path",
    [
        "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/learn/%00",
        "/learn/%ff%fe/questions",
        "/" + "a" * 5000,
        "/..%2f..%2fetc%2fpasswd",
        "/static/..%2f__init__.py",
        "/static/%2e%2e/__init__.py",
        "/api/articles/%00",
        "/api/articles/1%20OR%201=1",
        "/api/%3Cscript%3E",
        TOLERANCE_URL + "%00",
    ],
)
def test_hostile_paths(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 400), path
    assert_safe(response, path)


def test_invalid_utf8_is_searched_not_rejected(client: Any) -> None:
    response = client.get("/api/search?q=%ff%fe+drug")
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == "%FF%FE drug", "Werkzeug keeps bytes that are not UTF-8 percent-encoded"
    assert body["total"] > 0


def test_long_query_is_cut_not_refused(client: Any) -> None:
    body = client.get("/api/search?q=" + quote("drug " * 2000)).get_json()
    assert body["ok"] is True and len(body["query"]) <= 500 and body["total"] > 0


def test_query_is_escaped_in_the_search_box(client: Any) -> None:
    html = client.get('/search?q=%22%3E%3Cb%3Ebold%3C%2Fb%3E').get_data(as_text=True)
    assert 'value="&#34;&gt;&lt;b&gt;bold&lt;/b&gt;"' in html
    assert "<b>bold</b>" not in html
