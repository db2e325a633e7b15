"""Property-based hostile requests: every route, every parameter, anything a client can send.

Hypothesis draws query strings (known and unknown parameter names, repeated
parameters, arbitrary Unicode, arbitrary bytes percent-encoded, huge values)
and odd headers, and sends them through the Flask test client. Whatever
arrives: never a 500, and nothing from the input becomes markup: every value
carries a sentinel tag, and the answer's HTML (or its ``*_html`` JSON values)
must hold only the tags and attributes our templates write.

Examples are derandomised (the same on every run, so a failure reproduces)
and bounded per route; the counts are printed (``pytest -s``) and asserted.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from indexer.corpus.rendering import ALLOWED_TAGS

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
ROUTES = [
    "/", "/search", TOLERANCE_URL, "/api/search", "/api/suggest", "/api/articles/500001", "/healthz",
    "/embed", "/embed.js", "/opensearch.xml", "/opensearch/suggest", "/embedding", "/static/style.css",
]
EXAMPLES = 150
PARAMS = ["q", "page", "per_page", "subject", "limit", "v"]
SENTINEL = "zzxss"
PAYLOADS = [
    f"<{SENTINEL}>", f'"><{SENTINEL} onload=1>', f"'><script>{SENTINEL}</script>", f"<img src=x onerror={SENTINEL}>",
    f"</mark><{SENTINEL}>", f"<mark>{SENTINEL}</mark>", f"javascript:{SENTINEL}", f"<svg/onload={SENTINEL}>",
    f"&lt;{SENTINEL}&gt;", f"\\u003c{SENTINEL}",
]
#: Every tag our templates write, and every tag the Markdown sanitiser lets through.
TEMPLATES = Path(__file__).resolve().parents[1] / "webapp" / "templates"
OUR_TAGS = {
    tag.lower() for path in TEMPLATES.glob("*.html") for tag in re.findall(r"<([a-zA-Z][\w-]*)", path.read_text("utf-8"))
} | ALLOWED_TAGS


counts: dict[str, int] = {}


class Tags(HTMLParser):
    """Collect every start tag and its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert_html(fragment: str, where: str) -> None:
    assert f"<{SENTINEL}" not in fragment.lower(), f"input became markup in {where}"
    parser = Tags()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag in OUR_TAGS, f"unexpected <{tag}> in {where}"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} on <{tag}> in {where}"
            assert SENTINEL not in name, f"input became an attribute in {where}"
            if name in ("href", "src", "action") and value:
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (tag, name, value)
        if tag == "script":
            assert dict(attrs).get("src"), f"inline script in {where}"


# -- strategies ---------------------------------------------------------------------


unicode_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
raw_bytes = st.binary(max_size=40)
huge = st.sampled_from([1_000, 5_000, 20_000]).map(lambda n: "tolerance " * (n // 10))
number_like = st.one_of(st.integers(-10**30, 10**30).map(str), st.sampled_from(["1e9", "0x10", "٣", "1.5", " 2 ", "+3", "NaN"]))


@st.composite
def encoded_value(draw: Any) -> str:
    """A parameter value, percent-encoded as a client would (or not), with a sentinel payload inside."""
    kind = draw(st.sampled_from(["unicode", "bytes", "huge", "number"]))
    payload = draw(st.sampled_from(PAYLOADS))
    if kind == "bytes":
        data = draw(raw_bytes)
        cut = draw(st.integers(0, len(data)))
        return quote_from_bytes(data[:cut] + payload.encode() + data[cut:], safe="")
    text = {"unicode": lambda: draw(unicode_text), "huge": lambda: draw(huge), "number": lambda: draw(number_like)}[kind]()
    cut = draw(st.integers(0, len(text)))
    value = text[:cut] + payload + text[cut:]
    return quote(value, safe="") if draw(st.booleans()) else quote(value, safe="/:<>\"'")


@st.composite
def query_string(draw: Any) -> str:
    """Known and unknown names, repeated parameters, keys without values, stray separators."""
    names = st.one_of(st.sampled_from(PARAMS), unicode_text.map(lambda text: quote(text, safe="")))
    pairs = draw(st.lists(st.tuples(names, encoded_value()), min_size=1, max_size=6))
    parts = [f"{name}={value}" for name, value in pairs]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["q", "&&", "=", "q=%", "page=%zz", "%ff=%fe", ";q=1"])))
    return "&".join(parts)


latin1_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=200)
headers = st.dictionaries(
    st.sampled_from([
        "Accept", "Accept-Language", "Accept-Encoding", "Cookie", "Referer", "Origin", "User-Agent",
        "If-None-Match", "If-Modified-Since", "Range", "X-Forwarded-For", "X-Forwarded-Host", "Content-Type",
        "Authorization", "X-Requested-With",
    ]),
    st.one_of(latin1_text, st.sampled_from(["*/*", "text/html;q=0", "bytes=0-0,-1", "null", "x" * 8000])),
    max_size=4,
)


# -- the property --------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(sample_index: Any) -> Any:
    from webapp import create_app

    return create_app({"INDEX_DIR": str(sample_index)}).test_client()  # not TESTING: errors are handled


def check(response: Any, route: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:300]
    assert f"<{SENTINEL}" not in body.lower(), "input became markup"
    if response.mimetype == "application/json" and body:
        data = json.loads(body)
        values = data.get("results", []) if isinstance(data, dict) else []
        for hit in values:
            for key in ("title_html", "snippet_html"):
                assert re.sub(r"</?mark>", "", hit[key]).count("<") == 0, f"only <mark> is markup in {key}"
        if isinstance(data, dict) and not data.get("ok", True):
            assert data == {"ok": False, "error": data["error"], "status": response.status_code}
    elif response.mimetype == "text/html":
        assert_inert_html(body, route)


@pytest.mark.parametrize("route", ROUTES)
def test_any_request_is_answered_safely(client: Any, route: str) -> None:
    counts[route] = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(query=query_string(), extra=headers)
    def property(query: str, extra: dict[str, str]) -> None:
        counts[route] += 1
        response = client.get(f"{route}?{query}", headers=extra)
        if response.status_code in (301, 302, 307, 308):
            response.close()
            response = client.get(response.headers["Location"])
        try:
            check(response, route)
        finally:
            response.close()  # static files are streamed from an open file

    property()
    print(f"{route}: {counts[route]} examples")
    assert counts[route] >= EXAMPLES


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(segments=st.lists(st.one_of(unicode_text, raw_bytes.map(lambda data: quote_from_bytes(data, safe="")),
                                   st.sampled_from(PAYLOADS)), min_size=1, max_size=4))
def test_any_path_is_answered_safely(client: Any, segments: list[str]) -> None:
    counts["<paths>"] = counts.get("<paths>", 0) + 1
    path = "/" + "/".join(quote(segment, safe="%") for segment in segments)
    for prefix in ("", "/api", "/learn/medicine/questions", "/static", "/api/articles"):
        response = client.get(prefix + path)
        try:
            check(response, prefix + path)
        finally:
            response.close()


def test_examples_ran() -> None:
    """Runs last in this module: the total, for the record."""
    total = sum(counts.values())
    print(f"hypothesis examples run: {total} ({counts})")
    assert total >= EXAMPLES * len(ROUTES)
