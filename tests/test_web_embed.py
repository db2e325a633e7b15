"""Other sites: CORS on the API only, the frame policy, /embed, /embed.js, OpenSearch and the guide."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from webapp import create_app
from webapp.cors import parse_origins
from webapp.search_index import EXTENSION
from webapp.widget import ATTRIBUTES, THEME, widget_script

WIDGET_JS = Path(__file__).resolve().parent.parent / "webapp" / "static" / "widget.js"
OS = "{http://a9.com/-/spec/opensearch/1.1/}"
ALLOWED = "https://host.example"
OTHER = "https://evil.example"
TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept"}


@pytest.fixture
def make_app(sample_index: Path) -> Iterator[Any]:
    """Apps over the sample index (``make_app(CORS_ORIGINS=...)``), their searchers closed afterwards."""
    apps: list[Any] = []

    def make(**config: Any) -> Any:
        apps.append(create_app({"TESTING": True, "INDEX_DIR": str(sample_index), **config}))
        return apps[-1]

    yield make
    for made in apps:
        made.extensions[EXTENSION].close()


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app()


@pytest.fixture
def make_client(make_app: Any) -> Any:
    """A test client for an app with ``CORS_ORIGINS`` set to the given value."""

    def make(origins: Any = None) -> Any:
        return (make_app() if origins is None else make_app(CORS_ORIGINS=origins)).test_client()

    return make


# -- CORS -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/search?q=tolerance", "/api/suggest?q=tol", "/api/articles/1", "/healthz"])
def test_cors_allows_a_listed_origin(make_client: Any, path: str) -> None:
    response = make_client(f"{ALLOWED}, https://other.example").get(path, headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.vary
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("origin", [OTHER, "null", "https://host.example.evil.example", "http://host.example", ""])
def test_cors_refuses_other_origins(make_client: Any, origin: str) -> None:
    response = make_client(ALLOWED).get("/api/search?q=tolerance", headers={"Origin": origin})
    assert response.status_code == 200, "the answer is still sent; the browser withholds it from the page"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.vary, "a cache must not hand an allowed origin's copy to another"


def test_cors_is_off_by_default(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARTICLE_SEARCH_CORS_ORIGINS", raising=False)
    response = make_client().get("/api/search?q=tolerance", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_any_origin(make_client: Any) -> None:
    response = make_client("*").get("/api/search?q=tolerance", headers={"Origin": OTHER})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Origin" not in response.vary


def test_cors_origins_from_the_environment(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_SEARCH_CORS_ORIGINS", f"{ALLOWED}/,HTTPS://Second.Example:8443")
    client = make_app().test_client()
    for origin in (ALLOWED, "https://second.example:8443"):
        assert client.get("/healthz", headers={"Origin": origin}).headers["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": OTHER}).headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, set()),
        ("", set()),
        (" https://a.example/ , http://b.example:8080 ", {"https://a.example", "http://b.example:8080"}),
        ("https://a.example,*", {"*"}),
        (["https://a.example"], {"https://a.example"}),
        ("null, https://a.example/path, ftp://c.example, a.example", set()),
    ],
)
def test_parse_origins(value: Any, expected: set[str]) -> None:
    assert parse_origins(value) == expected


def test_preflight_from_a_listed_origin(make_client: Any) -> None:
    response = make_client(ALLOWED).options("/api/search?q=x", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) >= {"GET", "OPTIONS"}
    assert "accept" in response.headers["Access-Control-Allow-Headers"].lower()
    assert 0 < int(response.headers["Access-Control-Max-Age"]) <= 7200
    assert "Origin" in response.vary


def test_preflight_from_another_origin_is_not_allowed(make_client: Any) -> None:
    response = make_client(ALLOWED).options("/api/search", headers={"Origin": OTHER, **PREFLIGHT})
    assert not [name for name, _ in response.headers if name.startswith("Access-Control-")]


def test_plain_options_is_not_a_preflight(make_client: Any) -> None:
    response = make_client(ALLOWED).options("/api/search", headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Access-Control-Allow-Methods" not in response.headers


def test_api_errors_are_readable_cross_origin(make_client: Any, tmp_path: Path) -> None:
    """A widget on another site can read the advice in a 400, and in a 503 while the index is missing."""
    bad = make_client(ALLOWED).get("/api/search?q=x&per_page=999", headers={"Origin": ALLOWED})
    assert bad.status_code == 400 and bad.headers["Access-Control-Allow-Origin"] == ALLOWED
    empty = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "CORS_ORIGINS": ALLOWED})
    missing = empty.test_client().get("/api/search?q=x", headers={"Origin": ALLOWED})
    assert missing.status_code == 503 and missing.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    "path", ["/", "/search?q=tolerance", TOLERANCE_URL, "/embed?q=tolerance", "/embed.js", "/opensearch.xml",
             "/opensearch/suggest?q=tol", "/embedding", "/static/style.css", "/api/nothing-here"],
)
def test_no_cors_outside_the_api(make_client: Any, path: str) -> None:
    response = make_client("*").get(path, headers={"Origin": OTHER})
    response.close()
    assert "Access-Control-Allow-Origin" not in response.headers


# -- frame policy -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/embed", "/embed?q=tolerance", "/embed?q=%3Cscript%3E&per_page=abc"])
def test_embed_may_be_framed_by_any_site(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "'none'" not in csp.split("frame-ancestors")[1]
    assert "script-src 'self'" in csp, "the rest of the policy still holds"


def test_embed_stays_frameable_while_the_index_is_missing(tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get("/embed?q=tolerance")
    assert response.status_code == 503
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path", ["/", "/search?q=tolerance", TOLERANCE_URL, "/embedding", "/learn/nothing-here", "/embed/extra",
             "/opensearch.xml", "/api/search?q=tolerance"],
)
def test_every_other_page_refuses_framing(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# -- the iframe page --------------------------------------------------------------


def test_embed_page_shows_marked_results_that_open_in_the_top_window(client: Any) -> None:
    html = client.get("/embed?q=tolerance&per_page=3").get_data(as_text=True)
    assert html.count('<li>') == 3
    assert "<mark>" in html
    # The result keeps its real href; its ping records the click for search analytics.
    assert re.search(rf'<a target="_top" href="{re.escape(TOLERANCE_URL)}\?q=tolerance" ping="/api/click\?search=[0-9a-f]{{32}}&amp;position=\d+&amp;article=500001">', html)
    assert re.search(r'<a target="_top" href="/search\?q=tolerance">See all \d+ results', html)
    assert 'class="site-header"' not in html and "<footer" not in html, "minimal chrome"
    assert 'rel="search" type="application/opensearchdescription+xml"' in html


@pytest.mark.parametrize("path", ["/embed", "/embed?q=", "/embed?q=+++", "/embed?q=&subject=Medicine"])
def test_embed_page_without_a_query_is_just_the_form(client: Any, path: str) -> None:
    """No query is not a search: the empty form, with no results, no "No results for" and no links out."""
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form class="search-form embed-form" role="search" action="/embed"' in html
    assert re.search(r'<input id="q" name="q" type="search" value="\s*"', html), "the box is empty"
    body = html[html.index("</form>"):]
    assert body.split() == ["</form>", "</main>", "</body>", "</html>"], body
    for absent in ("No results for", "Try other words", "Did you mean", "Search results", "<ol", "See all",
                   "Open the full search", 'class="notice"', "<q>"):
        assert absent not in html


def test_embed_page_keeps_subject_and_escapes_the_query(client: Any) -> None:
    html = client.get('/embed?q=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&subject=%22%3E%3Cb%3E').get_data(as_text=True)
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'name="subject" value="&#34;&gt;&lt;b&gt;"' in html


def test_embed_page_no_results(client: Any) -> None:
    html = client.get("/embed?q=zzqxv").get_data(as_text=True)
    assert "No results for <q>zzqxv</q>" in html


# -- the widget script ------------------------------------------------------------


def test_embed_js_is_the_widget_and_small(client: Any) -> None:
    response = client.get("/embed.js")
    source = response.get_data()
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.cache_control.max_age == 3600 and response.cache_control.public
    assert source == widget_script(), "widget.js with the shared combobox inlined: one script for other sites"
    assert b"class Combobox" in source and b"@include" not in source
    assert len(source) < 20_000, "the widget stays under 20 KB unminified (the guide says so)"


def test_widget_never_parses_strings_as_markup() -> None:
    source = widget_script().decode("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser"):
        assert sink not in source
    assert 'customElements.define("article-search"' in source
    assert 'attachShadow({ mode: "open"' in source


# -- OpenSearch -------------------------------------------------------------------


def _opensearch(client: Any) -> ET.Element:
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    return ET.fromstring(response.get_data())


def test_opensearch_description_parses(client: Any) -> None:
    root = _opensearch(client)
    assert root.tag == f"{OS}OpenSearchDescription"
    short_name = root.findtext(f"{OS}ShortName") or ""
    assert 0 < len(short_name) <= 16
    assert root.findtext(f"{OS}InputEncoding") == "UTF-8"
    types = {url.get("type") for url in root.iter(f"{OS}Url")}
    assert types == {"text/html", "application/x-suggestions+json", "application/opensearchdescription+xml"}
    for url in root.iter(f"{OS}Url"):
        assert url.get("template", "").startswith("http://localhost/"), "templates are absolute"


def _fill(template: str, terms: str) -> str:
    parts = urlsplit(template.replace("{searchTerms}", terms))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_opensearch_templates_work(client: Any) -> None:
    urls = {url.get("type"): url.get("template", "") for url in _opensearch(client).iter(f"{OS}Url")}
    page = client.get(_fill(urls["text/html"], "tolerance"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "What mechanisms contribute to the development of drug <mark>tolerance</mark>?" in page.get_data(as_text=True)
    suggest = client.get(_fill(urls["application/x-suggestions+json"], "toler"))
    assert suggest.status_code == 200 and suggest.mimetype == "application/x-suggestions+json"
    query, completions = json.loads(suggest.get_data())
    assert query == "toler" and completions and all(isinstance(item, str) for item in completions)
    assert any(item.startswith("toler") for item in completions)
    again = client.get(_fill(urls["application/opensearchdescription+xml"], ""))
    assert again.get_data() == client.get("/opensearch.xml").get_data()


@pytest.mark.parametrize("q", ["", "   ", "\x00\x01", "<script>", "a" * 5000, "é☃"])
def test_opensearch_suggest_takes_any_input(client: Any, q: str) -> None:
    response = client.get("/opensearch/suggest", query_string={"q": q})
    assert response.status_code == 200
    query, completions = json.loads(response.get_data())
    assert isinstance(query, str) and len(query) <= 200 and isinstance(completions, list)


@pytest.mark.parametrize("path", ["/", "/search?q=tolerance", TOLERANCE_URL, "/learn/nothing-here", "/embedding", "/embed"])
def test_every_page_links_the_opensearch_description(client: Any, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert '<link rel="search" type="application/opensearchdescription+xml" title="Article Search" href="/opensearch.xml">' in html


# -- the embedding guide ----------------------------------------------------------


def test_guide_documents_every_attribute_and_theme_property(client: Any) -> None:
    html = client.get("/embedding").get_data(as_text=True)
    source = WIDGET_JS.read_text(encoding="utf-8")
    observed = re.search(r"observedAttributes = \[([^\]]*)\]", source)
    assert observed
    attributes = set(re.findall(r'"([a-z-]+)"', observed.group(1)))
    assert attributes == {name for name, _, _ in ATTRIBUTES}
    properties = set(re.findall(r"--article-search-[a-z-]+", source))
    assert properties == {name for name, _, _ in THEME}
    for name in attributes | properties:
        assert f"<code>{name}</code>" in html
    assert "&lt;script src=&#34;http://localhost/embed.js&#34; defer&gt;&lt;/script&gt;" in html or (
        '&lt;script src="http://localhost/embed.js" defer&gt;&lt;/script&gt;' in html
    )
    assert '<script src="/embed.js" defer></script>' in html, "the live demo loads the real widget"
    assert "<article-search" in html
    assert "http://localhost/embed?q=drug+tolerance" in html


def test_guide_says_whether_other_sites_are_allowed(make_client: Any) -> None:
    assert "ARTICLE_SEARCH_CORS_ORIGINS" in make_client().get("/embedding").get_data(as_text=True)
    assert "from <strong>any</strong> web site" in make_client("*").get("/embedding").get_data(as_text=True)


def test_footer_links_the_guide(client: Any) -> None:
    assert '<a href="/embedding">Add this search to your site</a>' in client.get("/").get_data(as_text=True)
