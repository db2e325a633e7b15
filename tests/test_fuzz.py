"""Every route fuzzed: thousands of generated requests, no 5xx, every error in its envelope, every page with its headers.

Two generators, both through the Flask test client (no network):

* **schemathesis** reads the served ``/openapi.json`` and generates requests
  for each JSON API operation, valid ones ("positive") and ones that break the
  described parameters ("negative"); its checks hold the answers to the
  document (status documented, content type, body schema, a valid request
  accepted, an invalid one refused).
* **hypothesis** draws requests for every route, pages included (``/``,
  ``/search``, article urls, ``/embed``, the widget's and OpenSearch's routes,
  static files, unknown urls, the API again without the document's
  constraints): any method, known and unknown parameters, arbitrary Unicode
  and bytes, odd headers.

On top, for every answer: no 5xx; an API error is exactly ``{"ok": false,
"error": "...", "status": N}`` with N the HTTP status; every HTML page
carries the app's security headers (the frameable set on ``/embed``).

Examples are derandomised (the same on every run), and bounded:
``--fuzz-examples N`` sets the examples per generator and route (default
:data:`DEFAULT_EXAMPLES`; ``make bench`` runs more). The requests sent are
counted, printed (``pytest -s``) and asserted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode

from webapp.app import FRAMEABLE_HEADERS, SECURITY_HEADERS
from webapp.api import is_api_path

DEFAULT_EXAMPLES = 250
TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
OPERATIONS = ["/api/search", "/api/suggest", "/api/articles/{id}", "/healthz", "/openapi.json"]
#: Operations with parameters schemathesis can break (the others take none).
NEGATABLE = ["/api/search", "/api/suggest", "/api/articles/{id}"]
ROUTES = [
    "/", "/search", TOLERANCE_URL, TOLERANCE_URL + "/", "/learn/medicine/questions/no-such-article",
    "/embed", "/embed.js", "/embedding", "/opensearch.xml", "/opensearch/suggest", "/static/style.css",
    "/api/search", "/api/suggest", "/api/articles/500001", "/api/articles/x", "/healthz", "/openapi.json", "/api/nothing",
]
PARAMS = ["q", "page", "per_page", "subject", "limit", "year", "sort", "v"]
ORIGIN = "https://widget-host.example"

sent: dict[str, int] = {}


@pytest.fixture(scope="module")
def examples(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("fuzz_examples") or DEFAULT_EXAMPLES)


@pytest.fixture(scope="module")
def app(sample_index: Path) -> Any:
    """Production-like: not TESTING, so a failing view becomes the app's own 500, which fails the run."""
    from webapp import create_app

    return create_app({"INDEX_DIR": str(sample_index), "CORS_ORIGINS": ORIGIN})


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    """The API as the served /openapi.json describes it."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- what every answer must be -------------------------------------------------------


def check_answer(path: str, status: int, headers: Any, mimetype: str, body: Any) -> None:
    """No 5xx; API errors in the one envelope; pages with every security header."""
    assert status < 500, f"{path}: {status}"
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    if is_api_path(path.partition("?")[0]) and status >= 400:
        assert mimetype == "application/json", f"{path}: {status} {mimetype}"
        assert isinstance(body, dict) and set(body) == {"ok", "error", "status"}, f"{path}: {body!r}"
        assert body["ok"] is False and body["status"] == status, f"{path}: {body!r}"
        assert isinstance(body["error"], str) and body["error"].strip(), f"{path}: {body!r}"
    if mimetype == "text/html":
        # /embed may be framed; a method it does not answer (405) matches no endpoint and is refused framing.
        frameable = path.partition("?")[0] == "/embed" and status != 405
        expected = FRAMEABLE_HEADERS if frameable else SECURITY_HEADERS
        for name, value in expected.items():
            assert headers.get(name) == value, f"{path}: {status} page without {name}: {value}"
        if expected is SECURITY_HEADERS:
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_security_headers_are_what_the_fuzzing_expects() -> None:
    """Pin the expected values, so the check above cannot drift with the app's own constants."""
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors *" in FRAMEABLE_HEADERS["Content-Security-Policy"] and "X-Frame-Options" not in FRAMEABLE_HEADERS


# -- the JSON API, from its OpenAPI description ---------------------------------------


@pytest.mark.parametrize(
    ("operation", "mode"),
    [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [(op, GenerationMode.NEGATIVE) for op in NEGATABLE],
)
def test_api_from_its_openapi_description(api_schema: Any, examples: int, operation: str, mode: GenerationMode) -> None:
    key = f"schemathesis {mode.value} {operation}"
    sent[key] = 0
    strategy = api_schema[operation]["GET"].as_strategy(generation_mode=mode)

    @fuzz_settings(examples)
    @given(case=strategy)
    def property(case: Any) -> None:
        sent[key] += 1
        # schemathesis's own checks: no 5xx, documented status and content type, body schema,
        # valid data accepted (positive) or refused (negative).
        response = case.call_and_validate()
        headers = {name.title(): values[0] for name, values in response.headers.items()}
        mimetype = headers.get("Content-Type", "").partition(";")[0]
        body = response.json() if mimetype == "application/json" else None
        check_answer(case.formatted_path, response.status_code, headers, mimetype, body)

    property()
    print(f"{key}: {sent[key]} requests")
    # Operations without parameters have only so many distinct requests.
    assert sent[key] >= (1 if operation in ("/healthz", "/openapi.json") else examples)


# -- every route, pages included ------------------------------------------------------


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
number = st.one_of(st.integers(-10**20, 10**20).map(str), st.sampled_from(["", "1", "2.0", "1e3", "0x1", "٣", " 7 ", "-0", "NaN"]))
value = st.one_of(
    text.map(lambda t: quote(t, safe="")),
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b, safe="")),
    number.map(lambda n: quote(n, safe="")),
    st.sampled_from(["drug+tolerance", "tolerence", "%22drug", "dru*", "a" * 3000, "%ff%fe", "%zz", "<mark>x</mark>"]),
)


@st.composite
def query_string(draw: Any) -> str:
    names = st.one_of(st.sampled_from(PARAMS), text.map(lambda t: quote(t, safe="")))
    pairs = draw(st.lists(st.tuples(names, value), max_size=5))
    parts = [f"{name}={val}" for name, val in pairs]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["q", "&&", "=", "page", "q=%", ";q=1"])))
    return "&".join(parts)


headers_strategy = st.dictionaries(
    st.sampled_from(["Accept", "Accept-Language", "Origin", "Referer", "If-None-Match", "Range", "Cookie", "Content-Type"]),
    st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60), st.just(ORIGIN)),
    max_size=3,
)
methods = st.sampled_from(["GET"] * 6 + ["HEAD", "POST", "OPTIONS", "PUT", "DELETE"])


@pytest.mark.parametrize("route", ROUTES)
def test_every_route(app: Any, examples: int, route: str) -> None:
    client = app.test_client()
    key = f"hypothesis {route}"
    sent[key] = 0

    @fuzz_settings(max(20, examples // 2))
    @given(method=methods, query=query_string(), headers=headers_strategy)
    def property(method: str, query: str, headers: dict[str, str]) -> None:
        sent[key] += 1
        url = f"{route}?{query}" if query else route
        response = client.open(url, method=method, headers=headers)
        try:
            if method == "HEAD":  # no body to check; the same headers as GET
                assert response.status_code < 500 and response.headers.get("X-Content-Type-Options") == "nosniff"
                return
            body = response.get_json(silent=True) if response.mimetype == "application/json" else None
            check_answer(url, response.status_code, response.headers, response.mimetype, body)
            if method not in ("GET", "HEAD", "OPTIONS"):
                assert response.status_code == 405, f"{method} {url}: {response.status_code}"
        finally:
            response.close()  # static files are streamed from an open file

    property()
    print(f"{key}: {sent[key]} requests")
    assert sent[key] >= max(20, examples // 2)


@pytest.mark.parametrize("prefix", ["", "/api", "/learn/medicine/questions", "/static", "/api/articles"])
def test_any_path(app: Any, examples: int, prefix: str) -> None:
    client = app.test_client()
    key = f"hypothesis paths {prefix or '/'}"
    sent[key] = 0

    @fuzz_settings(max(20, examples // 5))
    @given(segments=st.lists(st.one_of(text, st.binary(max_size=20).map(lambda b: quote_from_bytes(b, safe=""))), min_size=1, max_size=4))
    def property(segments: list[str]) -> None:
        sent[key] += 1
        path = prefix + "/" + "/".join(quote(segment, safe="%") for segment in segments)
        response = client.get(path)
        try:
            body = response.get_json(silent=True) if response.mimetype == "application/json" else None
            check_answer(path, response.status_code, response.headers, response.mimetype, body)
        finally:
            response.close()

    property()
    assert sent[key] >= max(20, examples // 5)


def test_fuzz_totals() -> None:
    """Runs last in this module: how many requests were generated, for the record."""
    total = sum(sent.values())
    print(f"\nfuzzing sent {total} requests: {sent}")
    if len(sent) > len(OPERATIONS):  # the whole module ran, not one test picked with -k
        assert total >= 2000
