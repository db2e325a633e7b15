"""The results page's filters and sort: both facets with counts, links that keep every other choice, the url as the state."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dated import write_dated_corpus
from indexer import build_index


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from webapp import create_app

    corpus = write_dated_corpus(tmp_path_factory.mktemp("dated-pages") / "corpus")
    build_index(corpus, corpus.parent / "index")
    return create_app({"TESTING": True, "INDEX_DIR": str(corpus.parent / "index")}).test_client()


def page(client: Any, query: str) -> str:
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def facet_links(html: str, facet: str) -> dict[str, tuple[int, dict[str, list[str]], bool]]:
    """The facet's links: label -> (count, the link's parameters, whether it is marked current)."""
    start = html.index(f'data-facet="{facet}"')
    block = html[start : html.index("</nav>", start)]
    links = {}
    for attrs, body in re.findall(r"<a ([^>]*)>(.*?)</a>", block, re.S):
        href = unescape(re.search(r'href="([^"]*)"', attrs)[1])  # type: ignore[index]
        label = re.sub(r"<[^>]+>", "", body).strip()
        name, _, count = label.rpartition(" ")
        links[name.strip()] = (int(count), parse_qs(urlsplit(href).query), 'aria-current="true"' in attrs)
    return links


def test_both_facets_with_counts_and_links_that_add_a_value(client: Any) -> None:
    html = page(client, "q=cause")
    subjects, years = facet_links(html, "subject"), facet_links(html, "year")
    assert subjects["All subjects"][0] == 21 and subjects["All subjects"][2]
    assert subjects["History"][:2] == (5, {"q": ["cause"], "subject": ["History"]})
    assert {name: link[0] for name, link in years.items()} == {"All years": 21, "2025": 8, "2024": 6, "2023": 7}
    assert years["2025"][1] == {"q": ["cause"], "year": ["2025"]}


def test_facet_links_keep_the_other_filters_the_query_and_the_sort(client: Any) -> None:
    html = page(client, "q=cause&year=2025&sort=newest&per_page=5&page=2")
    subjects, years = facet_links(html, "subject"), facet_links(html, "year")
    # Subject counts under the chosen year; each subject link keeps it, the sort and page size, from page 1.
    assert {name: link[0] for name, link in subjects.items()} == {"All subjects": 8, "History": 4, "Computer Science": 2, "Economics": 2}
    assert subjects["History"][1] == {"q": ["cause"], "subject": ["History"], "year": ["2025"], "sort": ["newest"], "per_page": ["5"]}
    # The chosen year is marked; its link takes it away, another year's adds to it.
    assert years["2025"][2] and not years["2024"][2] and not years["All years"][2]
    assert years["2025"][1] == {"q": ["cause"], "sort": ["newest"], "per_page": ["5"]}
    assert years["2024"][1]["year"] == ["2024", "2025"]
    assert years["All years"][1] == {"q": ["cause"], "sort": ["newest"], "per_page": ["5"]}
    assert "8 results" in html and "from 2025" in html


def test_several_values_of_both_facets(client: Any) -> None:
    html = page(client, "q=cause&subject=History&subject=Medicine&year=2023&year=2025")
    subjects, years = facet_links(html, "subject"), facet_links(html, "year")
    assert subjects["History"][2] and subjects["Medicine"][2]
    assert subjects["History"][1] == {"q": ["cause"], "subject": ["Medicine"], "year": ["2023", "2025"]}
    assert {name: link[0] for name, link in years.items()} == {"All years": 10, "2025": 4, "2024": 1, "2023": 5}
    assert "9 results" in html and "in History or Medicine from 2023 or 2025" in html
    shown = set(re.findall(r'<span class="subject">([^<]+)</span>', html))
    assert shown <= {"History", "Medicine"}


def test_a_chosen_value_without_matches_stays_listed_to_be_removed(client: Any) -> None:
    html = page(client, "q=cause&subject=Biology&year=2025")
    subjects = facet_links(html, "subject")
    assert subjects["Biology"][0] == 0 and subjects["Biology"][2]
    assert "No results" in html
    assert re.search(r'<a href="/search\?q=cause&amp;year=2025">Search all subjects</a> \(8 results\)', html)
    assert re.search(r'<a href="/search\?q=cause&amp;subject=Biology">Search all years</a> \(1 result\)', html)


def test_sort_control_keeps_filters_and_marks_the_current_order(client: Any) -> None:
    html = page(client, "q=cause&subject=History&subject=Medicine&year=2025&page=1")
    nav = html[html.index('class="sort"') :]
    nav = nav[: nav.index("</nav>")]
    links = {re.sub(r"<[^>]+>", "", body): (parse_qs(urlsplit(unescape(href)).query), current)
             for href, current, body in re.findall(r'<a href="([^"]*)"( aria-current="true")?>(.*?)</a>', nav)}
    assert links["Relevance"] == ({"q": ["cause"], "subject": ["History", "Medicine"], "year": ["2025"]}, ' aria-current="true"')
    assert links["Newest"] == ({"q": ["cause"], "subject": ["History", "Medicine"], "year": ["2025"], "sort": ["newest"]}, "")
    newest = page(client, "q=cause&sort=newest")
    dates = re.findall(r'<time datetime="([^"]+)"', newest)
    assert dates == sorted(dates, reverse=True) and len(dates) == 10
    assert re.search(r'sort=newest" aria-current="true">Newest', newest)


def test_pagination_and_the_search_box_keep_filters_and_sort(client: Any) -> None:
    html = page(client, "q=change&year=2024&year=2023&sort=newest&per_page=3&page=2")
    nav = html[html.index('class="pagination"') :]
    hrefs = [unescape(href) for href in re.findall(r'href="([^"]+)"', nav[: nav.index("</nav>")])]
    assert hrefs
    for href in hrefs:
        params = parse_qs(urlsplit(href).query)
        assert (params["q"], params["year"], params["sort"], params["per_page"]) == (["change"], ["2023", "2024"], ["newest"], ["3"])
    form = html[html.index('<form class="search-form') : html.index("</form>")]
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)
    assert hidden == [("per_page", "3"), ("year", "2023"), ("year", "2024"), ("sort", "newest")]
    link = client.get("/search?q=change&year=2024&sort=newest").headers["Link"]
    assert link == '</api/search?q=change&year=2024&sort=newest>; rel="alternate"; type="application/json"'


@pytest.mark.parametrize("query", ["year=25", "year=abcd", "sort=oldest"])
def test_a_bad_year_or_sort_is_a_400_page_that_says_what_is_allowed(client: Any, query: str) -> None:
    response = client.get(f"/search?q=cause&{query}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert ("four digits" in body) if query.startswith("year") else ("relevance, newest" in body)


def test_the_iframe_page_takes_the_same_filters_and_sort(client: Any) -> None:
    html = page_of(client, "/embed?q=cause&subject=History&year=2025&year=2024&sort=newest")
    assert len(re.findall(r"<li>", html)) == 5, "History's five matches in 2024 and 2025 (five a page)"
    form = html[html.index("<form") : html.index("</form>")]
    assert re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form) == [
        ("subject", "History"), ("year", "2025"), ("year", "2024"), ("sort", "newest")
    ]
    see_all = unescape(re.search(r'class="embed-all"><a target="_top" href="([^"]+)"', html)[1])  # type: ignore[index]
    assert parse_qs(urlsplit(see_all).query) == {"q": ["cause"], "subject": ["History"], "year": ["2025", "2024"], "sort": ["newest"]}
    assert "four digits" in page_of(client, "/embed?q=cause&year=20")


def page_of(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))
