"""The site's own search box, both colour schemes, small screens and print, in real Chromium
against the real server (`article-search serve`).

The box is the same WAI-ARIA combobox as the widget (static/combobox.js): completions from
/api/suggest move with the arrow keys and Enter searches the chosen one; recent searches live in
the browser only. Every page passes axe in light and dark, fits 360 px without sideways
scrolling and keeps its tap targets at least 24 px; an article prints without the site's chrome.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from support.browsers import new_tab

pytestmark = pytest.mark.browser

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
PAGES = {
    "home": "/",
    "results": "/search?q=drug+tolerance+mechanisms",
    "article": TOLERANCE_URL + "?q=drug+tolerance",
    "embed": "/embed?q=drug+tolerance",
    "guide": "/embedding",
}
OPTIONS = "#q-listbox [role=option]"
#: The completions once they answer the text as typed (the list is aria-busy while older ones show).
SETTLED = "#q-listbox:not([aria-busy]) [role=option]"
# Controls that must be at least 24 px each way (WCAG 2.5.8); links inside running text are exempt.
TARGETS = """() => [...document.querySelectorAll('a, button, input:not([type=hidden]), [role=option]')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter((el) => !(el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.closest('p, td, li:not(nav li), .answer, footer')))
  .filter((el) => !el.closest('.skip-link, .visually-hidden'))
  .map((el) => { const r = el.getBoundingClientRect(); return [el.outerHTML.slice(0, 80), r.width, r.height]; })
  .filter(([, w, h]) => w < 24 || h < 24)"""


def serious_violations(page: Any, axe_source: str) -> list[str]:
    page.evaluate(axe_source)  # through DevTools, so the page's CSP (no inline script) still holds
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"][0]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def scheme_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    scheme, width = request.param
    with new_tab(chromium, viewport={"width": width, "height": 800}, color_scheme=scheme,
                 is_mobile=width < 500, has_touch=width < 500) as tab:
        yield tab


def test_the_site_box_completes_with_the_keyboard_and_remembers_searches(
    page: Any, console_errors: list[str], live_server: str
) -> None:
    page.goto(f"{live_server}/")
    box = page.locator("#q")
    page.keyboard.press("/")
    assert box.evaluate("el => el === document.activeElement"), "/ focuses the box"
    assert box.get_attribute("role") == "combobox" and box.get_attribute("aria-expanded") == "false"
    assert page.locator("#q-listbox").get_attribute("role") == "listbox"
    assert box.get_attribute("aria-controls") == "q-listbox"

    box.press_sequentially("tol", delay=30)
    page.locator(SETTLED).first.wait_for()
    completions = page.locator(OPTIONS).all_inner_texts()
    assert "tolerance" in completions and all(c.startswith("tol") for c in completions)
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-activedescendant") is None, "nothing is chosen before an arrow key"

    box.press("ArrowDown")
    first = page.locator(OPTIONS).first
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    box.press("ArrowUp")  # wraps to the last
    assert box.get_attribute("aria-activedescendant") == page.locator(OPTIONS).last.get_attribute("id")
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and box.get_attribute("aria-activedescendant") is None
    assert box.input_value() == "tol", "Esc closes the list and keeps the text"
    box.press("ArrowDown")
    assert box.get_attribute("aria-expanded") == "true", "Down Arrow opens the list again"
    page.locator(OPTIONS).first.wait_for()
    index = page.locator(OPTIONS).all_inner_texts().index("tolerance")
    for _ in range(index + 1):
        box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=tolerance$"))
    assert page.locator(".result").count() > 0

    # Typing "/" in the box is a slash, not the shortcut.
    box = page.locator("#q")
    box.fill("")
    box.press_sequentially("a/b", delay=20)
    assert box.input_value() == "a/b"

    # Empty and focused: the recent searches, newest first, chosen like completions.
    box.fill("drug tolerance mechanisms")
    box.press("Enter")
    page.wait_for_url(re.compile(r"q=drug\+tolerance\+mechanisms"))
    box = page.locator("#q")
    box.fill("")
    page.locator(OPTIONS).first.wait_for()
    assert page.locator(OPTIONS).all_inner_texts() == ["drug tolerance mechanisms", "tolerance"]
    assert page.locator(".search-popup-heading").inner_text().lower() == "recent searches"
    stored = page.evaluate("localStorage.getItem('article-search:recent')")
    assert stored == '["drug tolerance mechanisms","tolerance"]', "kept in this browser only"
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=tolerance$"))

    # Cleared, they are gone for good.
    page.locator("#q").fill("")
    page.get_by_role("button", name="Clear recent searches").click()
    assert page.evaluate("localStorage.getItem('article-search:recent')") is None
    assert page.locator("#q").get_attribute("aria-expanded") == "false"
    page.reload()
    page.locator("#q").focus()
    page.wait_for_timeout(200)  # a popup would open synchronously on focus; give it a frame anyway
    assert page.locator(OPTIONS).count() == 0 and page.locator("#q").get_attribute("aria-expanded") == "false"
    assert console_errors == []


def test_completions_on_the_article_page_header_box(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}{TOLERANCE_URL}")
    box = page.locator("#q")
    box.press_sequentially("opi", delay=30)
    page.locator(SETTLED).first.wait_for()
    assert all(text.startswith("opi") for text in page.locator(OPTIONS).all_inner_texts())
    page.locator(OPTIONS).first.click()
    page.wait_for_url(re.compile(r"/search\?q=opi"))


@pytest.mark.parametrize("scheme_page", [("light", 1280), ("dark", 1280)], indirect=True, ids=["light", "dark"])
def test_every_page_passes_axe_in_both_schemes(scheme_page: Any, live_server: str, axe_source: str) -> None:
    page = scheme_page
    found: dict[str, list[str]] = {}
    for name, path in PAGES.items():
        page.goto(f"{live_server}{path}")
        found[name] = serious_violations(page, axe_source)
    # Open popups too: the site's completions and the widget's results on the guide.
    page.goto(f"{live_server}/")
    page.locator("#q").press_sequentially("tol", delay=30)
    page.locator(SETTLED).first.wait_for()
    page.locator("#q").press("ArrowDown")
    found["home, completions open"] = serious_violations(page, axe_source)
    page.goto(f"{live_server}/embedding")
    page.locator("article-search input").press_sequentially("tolerance", delay=30)
    page.locator("article-search [part=listbox]:not([aria-busy]) [role=option]").first.wait_for()
    page.locator("article-search input").press("ArrowDown")
    found["guide, widget open"] = serious_violations(page, axe_source)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_dark_scheme_reaches_the_pages_and_the_widget(chromium: Any, live_server: str) -> None:
    context = chromium.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/embedding")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        widget = page.locator("article-search input").evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == widget == "rgb(15, 23, 42)", "a dark page and a dark widget"
        # A host's own custom property still wins over the dark default.
        page.evaluate("document.querySelector('article-search').style.setProperty('--article-search-bg', 'rgb(1, 2, 3)')")
        assert page.locator("article-search input").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(1, 2, 3)"
    finally:
        context.close()


@pytest.mark.parametrize("scheme_page", [("light", 360)], indirect=True, ids=["360px"])
def test_every_page_fits_360_px_with_big_enough_targets(scheme_page: Any, live_server: str) -> None:
    page = scheme_page
    for name, path in {**PAGES, "page 2": "/search?q=drug&per_page=3&page=2", "empty": "/search?q=zzqxv"}.items():
        page.goto(f"{live_server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{name} scrolls sideways ({width} px)"
        assert page.evaluate(TARGETS) == [], f"{name} has tap targets under 24 px"
    page.goto(f"{live_server}/")
    page.locator("#q").press_sequentially("tol", delay=30)
    page.locator(SETTLED).first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate(TARGETS) == [], "completions are big enough to tap"


def test_an_article_prints_without_the_site_chrome_and_with_its_link_urls(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}{TOLERANCE_URL}?q=tolerance")
    page.emulate_media(media="print")
    for chrome in (".site-header", ".site-footer", ".breadcrumb", "form[role=search]", ".skip-link"):
        assert not page.locator(chrome).first.is_visible(), f"{chrome} is not printed"
    assert page.locator("h1").is_visible() and page.locator(".answer").is_visible()
    related = page.locator(".related a").first
    href = related.get_attribute("href")
    shown = related.evaluate("el => getComputedStyle(el, '::after').content")
    assert href and href in shown, "a printed link shows where it goes"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    page.emulate_media(media="screen")
    assert page.locator(".site-header").is_visible()
