"""The answer box in real Chromium: its link lands on the paragraph that holds the passage, highlighted."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"


def test_the_answer_link_lands_on_its_paragraph_highlighted(page: Any, console_errors: list[str], live_server: str) -> None:
    page.goto(f"{live_server}/search?q=drug+tolerance+mechanisms")
    box = page.locator(".answer-box")
    assert box.count() == 1 and box.locator("mark").count() >= 2
    passage = " ".join(box.locator(".answer-passage").inner_text().split())
    box.locator(".answer-source a").click()
    page.wait_for_url(re.compile(re.escape(TOLERANCE_URL) + r"\?q=drug\+tolerance\+mechanisms#passage-\d+$"))
    landed = page.locator(":target")
    assert landed.count() == 1
    assert passage in " ".join(landed.inner_text().split())
    assert landed.evaluate("element => getComputedStyle(element).outlineStyle") == "solid", "the paragraph is marked on arrival"
    top = landed.evaluate("element => element.getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"], "scrolled into view"
    assert landed.locator("mark").count() >= 1, "?q= marks the query's words there too"
    assert console_errors == []


def test_no_answer_box_for_a_one_word_query_by_words_alone(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/search?q=blue")
    assert page.locator(".result").count() >= 1 and page.locator(".answer-box").count() == 0


def test_a_question_in_plain_words_opens_with_the_tolerance_paragraph(page: Any, console_errors: list[str], live_server: str) -> None:
    # Issue 18's check: a student's own words, none of the article title's, still get the answer first.
    page.goto(f"{live_server}/")
    page.get_by_label("Search articles").fill("what makes drugs stop working over time")
    page.keyboard.press("Enter")
    box = page.locator(".answer-box")
    box.wait_for()
    source = box.locator(".answer-source a")
    assert source.get_attribute("href").startswith(TOLERANCE_URL + "?q=")
    passage = " ".join(box.locator(".answer-passage").inner_text().split())
    source.click()
    page.wait_for_url(re.compile(re.escape(TOLERANCE_URL) + r"\?q=[^#]+#passage-\d+$"))
    landed = page.locator(":target")
    assert landed.count() == 1 and passage in " ".join(landed.inner_text().split())
    assert landed.evaluate("element => getComputedStyle(element).outlineStyle") == "solid", "highlighted on arrival"
    top = landed.evaluate("element => element.getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"], "scrolled into view"
    assert console_errors == []
