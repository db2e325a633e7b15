"""A student's visit in a real headless Chromium against the real server, plus axe-core checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

QUERY = "drug tolerance mechanisms"
TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
TOLERANCE_TITLE = "What mechanisms contribute to the development of drug tolerance?"
OPIOIDS_TITLE = "How do opioids act on opioid receptors?"


def test_search_filter_paginate_read_and_follow(
    page: Any, console_errors: list[str], live_server: str, tmp_path: Path
) -> None:
    # Four results a page, so the Medicine facet of this query spans several pages.
    page.goto(f"{live_server}/?per_page=4")
    page.get_by_label("Search articles").fill(QUERY)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    assert "q=drug+tolerance+mechanisms" in page.url and "per_page=4" in page.url

    results = page.locator(".result")
    assert results.count() == 4
    first = results.first
    assert first.locator("h3 a").inner_text() == TOLERANCE_TITLE
    assert first.locator("h3 mark").count() >= 2
    assert first.locator(".snippet mark").count() >= 1
    assert page.locator("mark", has_text=re.compile("^tolerance$", re.I)).count() >= 1
    assert re.search(r"\d+ results\s+for", page.locator("#results-title").inner_text())
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)

    page.get_by_role("link", name=re.compile(r"^Medicine \d+$")).click()
    page.wait_for_url(re.compile(r"subject=Medicine"))
    subjects = page.locator(".result .subject").all_inner_texts()
    assert subjects and set(subjects) == {"Medicine"}
    assert page.locator('.facets [data-facet="subject"] a[aria-current="true"]').inner_text().startswith("Medicine")

    page.get_by_role("link", name="Page 2", exact=True).click()
    page.wait_for_url(re.compile(r"page=2"))
    for part in ("q=drug+tolerance+mechanisms", "subject=Medicine", "per_page=4"):
        assert part in page.url, "pagination keeps the query, the filter and the page size"
    assert page.locator('.pagination [aria-current="page"]').inner_text() == "2"
    assert set(page.locator(".result .subject").all_inner_texts()) == {"Medicine"}

    page.get_by_role("link", name="‹ Previous").click()
    page.wait_for_url(lambda url: "page=2" not in url)
    page.locator(".result-title a", has_text=TOLERANCE_TITLE).click()  # the result, not the answer box above it
    page.wait_for_url(re.compile(re.escape(TOLERANCE_URL)))
    assert page.locator("h1").inner_text() == TOLERANCE_TITLE
    answer = page.locator(".answer")
    assert answer.locator("ol > li").count() >= 4, "the Markdown list is rendered"
    assert answer.locator("strong", has_text="enzyme induction").is_visible(), "bold is rendered"
    assert answer.locator("mark").count() >= 3, "the query's terms are marked on the page"
    page.screenshot(path=str(tmp_path / "article.png"), full_page=True)

    page.get_by_role("link", name=OPIOIDS_TITLE).click()
    page.wait_for_url(re.compile(r"how-do-opioids-act-on-opioid-receptors"))
    assert page.locator("h1").inner_text() == OPIOIDS_TITLE
    page.go_back()
    page.wait_for_url(re.compile(re.escape(TOLERANCE_URL)))
    assert page.locator("h1").inner_text() == TOLERANCE_TITLE

    assert console_errors == [], "no CSP violations, failed loads or script errors"
    assert (tmp_path / "results.png").stat().st_size > 10_000
    assert (tmp_path / "article.png").stat().st_size > 10_000


def test_did_you_mean_and_empty_state(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/search?q=tolerence")
    page.get_by_role("link", name="tolerance", exact=True).click()
    page.wait_for_url(re.compile(r"q=tolerance"))
    assert page.locator(".result").count() > 0
    page.goto(f"{live_server}/search?q=zzqxv+wwpqk")
    assert "No article contains" in page.locator(".empty").inner_text()


def test_phone_layout(chromium: Any, live_server: str, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/search?q=drug+tolerance+mechanisms")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "nothing overflows sideways on a phone"
        assert page.locator(".facets").bounding_box()["y"] < page.locator(".result").first.bounding_box()["y"]
        page.screenshot(path=str(tmp_path / "results-phone.png"), full_page=True)
        page.goto(f"{live_server}{TOLERANCE_URL}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


AXE_PAGES = {
    "search": "/",
    "results": "/search?q=drug+tolerance+mechanisms&subject=Medicine&per_page=4&page=2",
    "empty results": "/search?q=zzqxv+%22open",
    "article": TOLERANCE_URL + "?q=drug+tolerance+mechanisms",
    "not found": "/learn/nothing-here",
}


@pytest.mark.parametrize("path", list(AXE_PAGES.values()), ids=list(AXE_PAGES))
def test_axe_finds_no_serious_violations(page: Any, live_server: str, axe_source: str, path: str) -> None:
    page.goto(f"{live_server}{path}")
    page.evaluate(axe_source)  # through DevTools, so the page's CSP (no inline script) still holds
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
