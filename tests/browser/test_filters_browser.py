"""Filters and sorting in real Chromium, through the real server, over the sample corpus spread across three years.

A student searches, picks a year, then a subject, checks the counts and the
url after each click, switches to newest first, and widens the year; the
filtered page passes axe in both colour schemes and fits 360 px.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from dated import write_dated_corpus
from indexer import build_index
from support.servers import start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`article-search serve` over the dated corpus's index; yields its base url."""
    folder = tmp_path_factory.mktemp("dated-browser")
    corpus = write_dated_corpus(folder / "corpus")
    build_index(corpus, folder / "index")
    with start_server(folder / "index", log=folder / "server.log", workers=1) as server:
        yield server.base


def counts(page: Any, facet: str) -> dict[str, int]:
    """The facet's links as the student sees them: label -> count."""
    links = page.locator(f'[data-facet="{facet}"] a').all()
    return {link.locator(".facet-name").inner_text(): int(link.locator(".count").inner_text()) for link in links}


def params(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def shown_dates(page: Any) -> list[str]:
    return [str(d) for d in page.locator(".result time").evaluate_all("nodes => nodes.map(n => n.getAttribute('datetime'))")]


def test_pick_a_year_then_a_subject_then_sort_by_newest(page: Any, console_errors: list[str], dated_server: str) -> None:
    page.goto(f"{dated_server}/search?q=cause")
    assert counts(page, "year") == {"All years": 21, "2025": 8, "2024": 6, "2023": 7}
    assert counts(page, "subject")["History"] == 5

    page.get_by_role("link", name=re.compile(r"^2025 8$")).click()
    page.wait_for_url(re.compile(r"year=2025"))
    assert params(page) == {"q": ["cause"], "year": ["2025"]}
    assert page.locator("#results-title").inner_text().startswith("8 results")
    assert counts(page, "subject") == {"All subjects": 8, "History": 4, "Computer Science": 2, "Economics": 2}
    assert counts(page, "year") == {"All years": 21, "2025": 8, "2024": 6, "2023": 7}, "the year's own counts stay"
    assert {date[:4] for date in shown_dates(page)} == {"2025"}
    assert page.locator('[data-facet="year"] a[aria-current="true"]').locator(".facet-name").inner_text() == "2025"

    page.get_by_role("link", name=re.compile(r"^History 4$")).click()
    page.wait_for_url(re.compile(r"subject=History"))
    assert params(page) == {"q": ["cause"], "subject": ["History"], "year": ["2025"]}
    assert page.locator("#results-title").inner_text().startswith("4 results")
    assert counts(page, "year") == {"All years": 5, "2025": 4, "2024": 1}, "year counts under the subject"
    assert set(page.locator(".result .subject").all_inner_texts()) == {"History"}
    relevance_order = page.locator(".result h3").all_inner_texts()

    page.get_by_role("link", name="Newest", exact=True).click()
    page.wait_for_url(re.compile(r"sort=newest"))
    assert params(page) == {"q": ["cause"], "subject": ["History"], "year": ["2025"], "sort": ["newest"]}
    dates = shown_dates(page)
    assert len(dates) == 4 and dates == sorted(dates, reverse=True)
    assert sorted(page.locator(".result h3").all_inner_texts()) == sorted(relevance_order)
    assert page.locator('.sort a[aria-current="true"]').inner_text() == "Newest"

    # A second year widens the filter (either year), keeping the subject and the sort.
    page.get_by_role("link", name=re.compile(r"^2024 1$")).click()
    page.wait_for_url(re.compile(r"year=2024"))
    assert params(page) == {"q": ["cause"], "subject": ["History"], "year": ["2024", "2025"], "sort": ["newest"]}
    assert page.locator("#results-title").inner_text().startswith("5 results")
    dates = shown_dates(page)
    assert dates == sorted(dates, reverse=True) and dates[-1].startswith("2024")

    # A new search from the box keeps the filters and the sort.
    box = page.get_by_label("Search articles")
    box.fill("war")
    box.press("Enter")
    page.wait_for_url(re.compile(r"q=war"))
    assert params(page) == {"q": ["war"], "subject": ["History"], "year": ["2024", "2025"], "sort": ["newest"]}
    assert console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_filtered_results_are_accessible_and_fit_a_phone(
    chromium: Any, dated_server: str, axe_source: str, scheme: str, tmp_path: Path
) -> None:
    context = chromium.new_context(viewport={"width": 360, "height": 800}, color_scheme=scheme, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{dated_server}/search?q=cause&subject=History&subject=Medicine&year=2025&sort=newest")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing overflows sideways"
        for link in page.locator(".facets a, .sort a").all():
            box = link.bounding_box()
            assert box["height"] >= 24 and box["width"] >= 24, link.inner_text()
        page.screenshot(path=str(tmp_path / f"filters-360-{scheme}.png"), full_page=True)
        page.evaluate(axe_source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []
    finally:
        context.close()


def test_widget_attributes_filter_and_sort_its_searches(page: Any, console_errors: list[str], dated_server: str) -> None:
    page.goto(f"{dated_server}/embedding")  # the guide loads embed.js under the site's CSP
    page.evaluate("""() => {
        const box = document.createElement("article-search");
        box.id = "filtered";
        for (const [name, value] of [["subject", "History, Medicine"], ["year", "2025"], ["sort", "newest"]]) box.setAttribute(name, value);
        document.querySelector(".demo").append(box);
    }""")
    box = page.locator("#filtered input")
    with page.expect_response(lambda response: "/api/search?" in response.url) as answer:
        box.fill("cause")
    asked = parse_qs(urlsplit(answer.value.url).query)
    tab = asked.pop("tab")  # search analytics: a keystroke request, with its tab's random id
    assert asked == {"q": ["cause"], "per_page": ["5"], "subject": ["History", "Medicine"], "year": ["2025"], "sort": ["newest"], "typing": ["1"]}
    assert re.fullmatch(r"[0-9a-z]{9,18}", tab[0])
    body = answer.value.json()
    assert body["total"] == 4
    options = page.locator("#filtered [role=option]")
    options.first.wait_for()
    assert options.count() == 4
    assert set(page.locator("#filtered [part=subject]").all_inner_texts()) == {"History"}
    see_all = parse_qs(urlsplit(page.locator("#filtered [part=see-all]").get_attribute("href") or "").query)
    assert see_all == {"q": ["cause"], "subject": ["History", "Medicine"], "year": ["2025"], "sort": ["newest"]}
    assert console_errors == []
