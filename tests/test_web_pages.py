"""The HTML pages: search box, results, facets, pagination, empty states, articles, errors, headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"


class Links(HTMLParser):
    """Collect every <a href> with its text, and the attributes of each element of interest."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0  # inline ones: no src
        self.script_sources: list[str] = []
        self.inline_styles = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append((attributes["href"] or "", attributes))
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"] or "")
            else:
                self.scripts += 1
        if "style" in attributes or tag == "style" or any(name.startswith("on") for name in attributes):
            self.inline_styles += 1
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")


def parse(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_home_has_an_accessible_search_box(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="en">' in html
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert '<label for="q">Search articles</label>' in html
    assert 'role="search"' in html and 'name="q"' in html
    assert re.search(r"Search \d+ clearly explained", html)


def test_search_page_shows_ranked_marked_results(client: Any) -> None:
    response = client.get("/search?q=drug+tolerance+mechanisms")
    assert response.status_code == 200
    html = text(response)
    assert 'value="drug tolerance mechanisms"' in html, "the box keeps the query"
    first = html.index('class="result"')
    assert TOLERANCE_URL in html[first : first + 600], "the tolerance article ranks first"
    assert "<mark>tolerance</mark>" in html and "<mark>drug</mark>" in html
    assert re.search(r"\d+ results\s+for <q>drug tolerance mechanisms</q>", html)
    assert re.search(r'class="took">\(\d+ ms\)', html)
    assert '<time datetime="2025-01-06">6 January 2025</time>' in html
    assert f'href="{TOLERANCE_URL}?q=drug+tolerance+mechanisms"' in html, "results link to the article, terms kept"


def test_also_matched_lists_other_forms_of_the_words(client: Any) -> None:
    html = text(client.get("/search?q=drug+tolerance+mechanisms"))
    assert re.search(r'Also matched: .*<mark>drugs</mark>', html)
    assert "Also matched: <mark>drug</mark>" not in html, "the typed words themselves are not repeated"


def test_search_advertises_its_json_twin(client: Any) -> None:
    response = client.get("/search?q=drug+tolerance&subject=Medicine&page=1")
    assert response.headers["Link"] == '</api/search?q=drug+tolerance&subject=Medicine>; rel="alternate"; type="application/json"'
    assert '<link rel="alternate" type="application/json" href="/api/search?q=drug+tolerance&amp;subject=Medicine">' in text(response)


def test_subject_facets_filter_and_keep_the_query(client: Any) -> None:
    html = text(client.get("/search?q=drug+tolerance+mechanisms"))
    facets = html[html.index('class="facets"') : html.index("</nav>")]
    assert re.search(
        r'href="/search\?q=drug\+tolerance\+mechanisms&amp;subject=Medicine" data-value="Medicine">'
        r'<span class="facet-name">Medicine</span> <span class="count">\d+</span>', facets
    )
    assert 'aria-current="true"><span class="facet-name">All subjects' in facets
    filtered = text(client.get("/search?q=drug+tolerance+mechanisms&subject=Medicine"))
    # The chosen subject is marked, and its link takes it away again.
    assert re.search(r'href="/search\?q=drug\+tolerance\+mechanisms" data-value="Medicine" aria-current="true">', filtered)
    subjects = re.findall(r'<span class="subject">([^<]+)</span>', filtered)
    assert subjects and set(subjects) == {"Medicine"}
    assert "in Medicine" in filtered


def test_pagination_keeps_query_subject_and_page_size(client: Any) -> None:
    html = text(client.get("/search?q=drug+tolerance+mechanisms&subject=Medicine&per_page=3&page=2"))
    nav = html[html.index('class="pagination"') :]
    hrefs = [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', nav[: nav.index("</nav>")])]
    assert hrefs, "more than one page"
    for href in hrefs:
        params = parse_qs(urlsplit(href).query)
        assert params["q"] == ["drug tolerance mechanisms"]
        assert params["subject"] == ["Medicine"]
        assert params["per_page"] == ["3"]
    assert 'aria-current="page" aria-label="Page 2, current page">2</a>' in nav
    assert 'rel="prev"' in nav and 'rel="next"' in nav
    assert 'type="hidden" name="per_page" value="3"' in html, "a new search keeps the page size"


def test_page_past_the_end_goes_to_the_last_page(client: Any) -> None:
    response = client.get("/search?q=drug+tolerance+mechanisms&page=999")
    assert response.status_code == 302
    assert "page=" in response.headers["Location"] and "page=999" not in response.headers["Location"]


@pytest.mark.parametrize("page", ["-1", "0", "abc", "1.5", "", "1000000000000", "9" * 5000])
def test_bad_page_numbers_are_clamped_not_errors(client: Any, page: str) -> None:
    response = client.get(f"/search?q=drug&page={page}&per_page={page}")
    assert response.status_code in (200, 302)


def test_did_you_mean_links_the_correction(client: Any) -> None:
    html = text(client.get("/search?q=tolerence"))
    assert 'Did you mean <a class="did-you-mean" href="/search?q=tolerance">tolerance</a>?' in html


def test_unmatched_words_are_named_and_the_rest_searched(client: Any) -> None:
    html = text(client.get("/search?q=drug+zzqxv"))
    assert "No article contains <strong>zzqxv</strong>; showing results for the other words." in html
    assert 'class="result"' in html


def test_empty_state_helps(client: Any) -> None:
    html = text(client.get("/search?q=zzqxv+wwpqk"))
    assert "No results" in html
    assert "No article contains <strong>zzqxv</strong>, <strong>wwpqk</strong>." in html
    assert "Check the spelling" in html


def test_empty_state_for_a_subject_offers_all_subjects(client: Any) -> None:
    html = text(client.get("/search?q=photosynthesis&subject=Economics"))
    assert "No results" in html
    assert re.search(r'<a href="/search\?q=photosynthesis">Search all subjects</a> \(\d+ results?\)', html)


def test_symbols_only_query_explains_itself(client: Any) -> None:
    html = text(client.get("/search?q=*+%3F"))
    assert "There are no words to search for" in html


def test_malformed_syntax_searches_words(client: Any) -> None:
    for q in ['"drug tolerance', "(drug tolerance", "drug)", "drug OR", "-"]:
        response = client.get("/search", query_string={"q": q})
        assert response.status_code == 200


def test_article_page_renders_markdown_and_related(client: Any) -> None:
    response = client.get(TOLERANCE_URL)
    assert response.status_code == 200
    html = text(response)
    assert "<h1>What mechanisms contribute to the development of drug tolerance?</h1>" in html
    assert "<ol>" in html and "<li>" in html and "<strong>Pharmacokinetic (metabolic) tolerance</strong>" in html
    assert '<time datetime="2025-01-06">6 January 2025</time>' in html
    assert '<span class="subject">Medicine</span>' in html
    assert '<a href="/search?q=drug+tolerance">drug tolerance</a>' in html, "keywords link to searches"
    related = html[html.index('class="related"') :]
    assert '<a href="/learn/medicine/questions/how-do-opioids-act-on-opioid-receptors">' in related
    assert "<mark>" not in html, "nothing is marked without ?q="
    assert response.headers["Link"] == '</api/articles/500001>; rel="alternate"; type="application/json"'


def test_article_page_marks_query_terms_with_stems(client: Any) -> None:
    html = text(client.get(TOLERANCE_URL + "?q=tolerant+drugs"))
    assert "<mark>Tolerance</mark>" in html and "<mark>drug</mark>" in html
    assert "<strong>Pharmacokinetic (metabolic) <mark>tolerance</mark></strong>" in html
    assert 'href="/search?q=tolerant+drugs">Results for' in html, "a way back to the results"


def test_article_related_links_only_existing(client: Any, tmp_path: Any, make_article: Any) -> None:
    from indexer import build_index
    from webapp import create_app

    corpus = tmp_path / "corpus"
    make_article(corpus, slug="one", id=1, related_article1={"id": 2, "title": "Two", "subject": "Testing", "url": "/learn/testing/questions/two"},
                 related_article2={"id": 3, "title": "Gone", "subject": "Testing", "url": "/learn/testing/questions/gone"})
    make_article(corpus, slug="two", id=2, title="What is two?")
    build_index(corpus, tmp_path / "index")
    html = text(create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client().get("/learn/testing/questions/one"))
    assert '<a href="/learn/testing/questions/two">Two</a>' in html
    assert "Gone" not in html


def test_article_trailing_slash_redirects_to_canonical(client: Any) -> None:
    response = client.get(TOLERANCE_URL + "/?q=drug")
    assert response.status_code == 308
    assert response.headers["Location"] == TOLERANCE_URL + "?q=drug"


@pytest.mark.parametrize(
    "path", ["/learn/medicine/questions/no-such-article", "/nope", "/learn/", "/static/nothing.css", "/favicon.ico", "/%ff%fe"]
)
def test_unknown_urls_get_a_real_404_page(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = text(response)
    assert "<h1 id=\"error-title\">Page not found</h1>" in html
    assert "Try searching for it instead" in html


def test_404_suggests_a_search_from_the_url(client: Any) -> None:
    html = text(client.get("/learn/medicine/questions/how-does-drug-tolerence-develop"))
    assert '<a href="/search?q=how+does+drug+tolerence+develop">' in html


def test_post_to_a_page_is_405_page(client: Any) -> None:
    response = client.post("/search?q=x")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]
    assert "Method not allowed" in text(response)


@pytest.mark.parametrize("path", ["/", "/search?q=drug", TOLERANCE_URL, "/nope"])
def test_html_security_headers_and_no_inline_script(client: Any, path: str) -> None:
    response = client.get(path)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    page = parse(text(response))
    assert page.scripts == 0 and page.inline_styles == 0, "no inline script, handlers or styles"
    own = ["/static/combobox.js", "/static/search-box.js"] + (["/static/citations.js"] if path == TOLERANCE_URL else [])
    assert sorted(src.split("?")[0] for src in page.script_sources) == sorted(own), "the site's own files only (an article's copy buttons too)"
    assert len(page.ids) == len(set(page.ids)), "ids are unique"


def test_static_files_are_versioned_and_cacheable(client: Any) -> None:
    html = text(client.get("/"))
    href = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{12})"', html)
    assert href, "the stylesheet url carries a content hash"
    with client.get(href.group(1)) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    with client.get("/static/style.css") as response:
        assert response.headers["Cache-Control"] == "public, max-age=3600"
    with client.get("/static/style.css?v=stale") as response:
        assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_every_page_link_resolves(client: Any) -> None:
    """Walk the links of a results page and an article page: none leads to an error."""
    seen: set[str] = set()
    for start in ("/search?q=drug+tolerance+mechanisms", TOLERANCE_URL + "?q=drug"):
        for href, _ in parse(text(client.get(start))).links:
            if href.startswith("/") and href not in seen:
                seen.add(href)
                with client.get(href) as response:
                    assert response.status_code in (200, 302), href
    assert len(seen) > 20


def test_misspelt_query_shows_corrected_results(client: Any) -> None:
    response = client.get("/search?q=photosinthesis")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "these are the results for <strong>photosynthesis</strong>" in page
    assert "<mark>" in page
