"""Search analytics in real Chromium: clicks recorded without breaking links, and /admin/insights for people.

The server is `article-search serve` with an admin token and its own analytics
file. A result opened on the search page is recorded by the link's ping (the
pages run no script); one opened in the widget, by its beacon. The report page
passes axe in both colour schemes and fits a 360 px screen.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.servers import fetch, start_server

pytestmark = pytest.mark.browser

TOKEN = "correct horse battery staple"


@pytest.fixture(scope="module")
def insights_server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("insights-browser")
    db = work / "analytics.sqlite3"
    env = {"ARTICLE_SEARCH_ANALYTICS_DB": str(db), "ARTICLE_SEARCH_ADMIN_TOKEN": TOKEN}
    with start_server(sample_index, log=work / "server.log", workers=1, env=env) as server:
        for query in ("drug+tolerance", "insulin", "zorblax", "inflation"):
            fetch(server.port, f"/search?q={query}")
        yield server.base, db


def stored_clicks(db: Path) -> list[tuple[int, int]]:
    """(position, article) of every stored click."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as database:
        try:
            return [(int(position), int(article)) for position, article in database.execute("SELECT position, article_id FROM clicks")]
        except sqlite3.OperationalError:  # no table yet
            return []


def clicks(db: Path, more_than: int = 0, seconds: float = 10) -> list[tuple[int, int]]:
    """The stored clicks once there are more than ``more_than`` (the background writer stores them within a moment)."""
    deadline = time.monotonic() + seconds
    found = stored_clicks(db)
    while len(found) <= more_than and time.monotonic() < deadline:
        time.sleep(0.05)
        found = stored_clicks(db)
    return found


def test_a_result_opened_from_the_search_page_is_recorded_and_the_link_is_unchanged(
    page: Any, insights_server: tuple[str, Path], console_errors: list[str]
) -> None:
    base, db = insights_server
    page.goto(f"{base}/search?q=homeostasis")
    link = page.locator(".result-title a").first
    href = link.get_attribute("href")
    assert href.startswith("/learn/") and "api/click" not in href
    link.click()
    page.wait_for_url(f"{base}{href}")
    found = clicks(db)
    assert len(found) == 1 and found[0][0] == 1
    assert console_errors == []


def test_admin_insights_asks_people_to_sign_in_and_the_cookie_lets_them_in(page: Any, insights_server: tuple[str, Path]) -> None:
    base, _ = insights_server
    response = page.goto(f"{base}/admin/insights")
    assert response.status == 401
    page.fill("#token", "wrong")
    page.click(".admin-form button")
    assert page.locator("[role=alert]").inner_text().startswith("That token is not")
    page.fill("#token", TOKEN)
    page.click(".admin-form button")
    page.wait_for_url(f"{base}/admin/insights")
    assert page.locator("h1").inner_text() == "Search insights"
    cookie = next(c for c in page.context.cookies() if c["name"] == "article_search_admin")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert page.locator("#gaps-empty").count() == 1 and "zorblax" in page.locator("section", has=page.locator("#gaps-title")).inner_text()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 360])
def test_admin_insights_passes_axe_and_fits_the_screen(
    chromium: Any, insights_server: tuple[str, Path], axe_source: str, scheme: str, width: int
) -> None:
    base, _ = insights_server
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                   extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        assert tab.goto(f"{base}/admin/insights").status == 200
        assert tab.locator(".chart svg rect.chart-bar").count() == 30
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        tab.evaluate(axe_source)
        result = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []
        assert errors == []
    finally:
        context.close()


def test_a_widget_run_is_one_search_and_its_opened_result_is_recorded_by_beacon(
    page: Any, insights_server: tuple[str, Path]
) -> None:
    base, db = insights_server
    page.goto(f"{base}/embedding")  # the page's own live example of the widget
    box = page.locator("article-search input")
    before = len(stored_clicks(db))
    box.press_sequentially("photosynthesis", delay=60)  # a keystroke request each time typing pauses
    page.locator("article-search [part=listbox]:not([aria-busy]) [role=option]").first.wait_for()  # the last run's results
    option = page.locator("article-search [role=option]").first
    href = option.get_attribute("href")
    option.click()
    page.wait_for_url(href)
    assert len(clicks(db, more_than=before)) == before + 1
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as database:
        typed = database.execute("SELECT query, tab FROM searches WHERE typing = 1").fetchall()
    assert typed and all(query.startswith("ph") for query, _ in typed) and len({tab for _, tab in typed}) == 1
    from indexer.analytics.report import build_report

    report = build_report([db], 1)
    runs = [row for row in report["top_queries"] if row["query"].startswith("ph")]
    assert [(row["query"], row["searches"], row["clicks"]) for row in runs] == [("photosynthesis", 1, 1)]
