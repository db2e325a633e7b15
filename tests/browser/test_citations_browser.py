"""Cite this answer in real Chromium, through the real server: each Copy button puts its citation on the clipboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from support.browsers import new_tab

pytestmark = pytest.mark.browser

ARTICLE = "/learn/medicine/questions/how-do-benzodiazepines-work"
NO_CLIPBOARD_API = "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"


@pytest.fixture
def clipboard_page(chromium: Any, live_server: str) -> Iterator[Any]:
    """A page whose context may read and write the clipboard, as a person's browser does after a click."""
    with new_tab(chromium, permissions=["clipboard-read", "clipboard-write"]) as page:
        yield page


def read_clipboard(page: Any) -> str:
    return str(page.evaluate("() => navigator.clipboard.readText()"))


def test_the_copy_button_copies_the_bibtex_entry(clipboard_page: Any, live_server: str) -> None:
    page = clipboard_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(live_server + ARTICLE)
    entry = page.locator("#cite-bibtex")
    assert entry.is_visible()
    shown = entry.inner_text()
    assert "title        = {{How do benzodiazepines work?}}" in shown
    assert f"url          = {{{live_server}{ARTICLE}}}" in shown, "the full url of the site the page came from"
    page.get_by_role("button", name="Copy the BibTeX citation", exact=True).click()
    page.locator(".copy-status").filter(has_text="BibTeX citation copied.").wait_for()
    assert read_clipboard(page) == shown
    assert page.locator('[data-copy="cite-bibtex"] .copy-label').inner_text() == "Copied"
    page.locator('[data-copy="cite-apa"]').click()
    page.locator(".copy-status").filter(has_text="APA citation copied.").wait_for()
    assert read_clipboard(page) == page.locator("#cite-apa").inner_text()
    assert read_clipboard(page).startswith("QuickTakes. (2025, January 24). How do benzodiazepines work? Article Search. http")
    assert errors == []


def test_copying_works_without_the_clipboard_api(clipboard_page: Any, live_server: str) -> None:
    """Over plain http on a real host the Clipboard API is missing; the button copies by selection instead."""
    page = clipboard_page
    page.add_init_script(NO_CLIPBOARD_API)
    page.goto(live_server + ARTICLE)
    assert page.evaluate("() => navigator.clipboard === undefined")
    page.locator('[data-copy="cite-mla"]').click()
    page.locator(".copy-status").filter(has_text="MLA citation copied.").wait_for()
    reader = page.context.new_page()  # one with the Clipboard API, to read what was copied
    reader.goto(live_server + ARTICLE)
    assert read_clipboard(reader) == page.locator("#cite-mla").inner_text()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_citations_are_accessible_and_fit_a_phone(chromium: Any, live_server: str, axe_source: str, scheme: str, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 360, "height": 800}, color_scheme=scheme, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server + ARTICLE)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing overflows sideways"
        for button in page.locator(".citations button").all():
            box = button.bounding_box()
            assert box["height"] >= 24 and box["width"] >= 24
        page.locator(".citations").screenshot(path=str(tmp_path / f"citations-360-{scheme}.png"))
        page.evaluate(axe_source)
        result = page.evaluate("async () => await axe.run('.citations', {resultTypes: ['violations']})")
        assert [violation["id"] for violation in result["violations"] if violation["impact"] in ("serious", "critical")] == []
    finally:
        context.close()
