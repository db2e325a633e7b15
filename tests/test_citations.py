"""Cite this answer: APA, MLA and BibTeX built from an article's fields, on its page and in the API."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

import pytest

from indexer import Article, build_index
from webapp.citations import bibtex_escape, citations_for

BENZODIAZEPINES_ID = 500004
BENZODIAZEPINES = "/learn/medicine/questions/how-do-benzodiazepines-work"
SITE = "https://cite.example:8443"
HOSTILE_TITLE = "Why do 50% of {C++} & R_2 users pay $5 for #1 ~ ^ \\ <b>bold</b>?"


class TextById(HTMLParser):
    """The text inside each element with an id (what a copy button copies: its target's textContent)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.texts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id")
        self.open.append((tag, element_id))
        if element_id:
            self.texts[element_id] = ""

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for _, element_id in self.open:
            if element_id:
                self.texts[element_id] += data


def texts_by_id(html: str) -> dict[str, str]:
    parser = TextById()
    parser.feed(html)
    return parser.texts


def test_the_api_carries_the_three_citations_at_the_full_url_of_the_host_asked(client: Any) -> None:
    body = client.get(f"/api/articles/{BENZODIAZEPINES_ID}", base_url=SITE).get_json()
    url = SITE + BENZODIAZEPINES
    assert body["citations"] == {
        "apa": f"QuickTakes. (2025, January 24). How do benzodiazepines work? Article Search. {url}",
        "mla": f"QuickTakes. \u201cHow do benzodiazepines work?\u201d Article Search, 24 Jan. 2025, {url}.",
        "bibtex": (
            "@misc{quicktakes2025benzodiazepines,\n"
            "  author       = {QuickTakes},\n"
            "  title        = {{How do benzodiazepines work?}},\n"
            "  howpublished = {Article Search},\n"
            "  year         = {2025},\n"
            "  month        = jan,\n"
            f"  url          = {{{url}}}\n"
            "}"
        ),
    }


def test_the_article_page_shows_each_citation_with_a_copy_button(client: Any) -> None:
    response = client.get(BENZODIAZEPINES, base_url=SITE)
    html = response.get_data(as_text=True)
    texts = texts_by_id(html)
    api = client.get(f"/api/articles/{BENZODIAZEPINES_ID}", base_url=SITE).get_json()["citations"]
    assert {style: texts[f"cite-{style}"] for style in ("apa", "mla", "bibtex")} == api, "the page's text is what the API says"
    assert "title        = {{How do benzodiazepines work?}}" in texts["cite-bibtex"]
    assert f"url          = {{{SITE}{BENZODIAZEPINES}}}" in texts["cite-bibtex"]
    for style in ("apa", "mla", "bibtex"):
        assert re.search(rf'<button type="button" class="copy-button" data-copy="cite-{style}"[^>]*>.*?Copy</span>', html)
    assert "<i>How do benzodiazepines work?</i>" in html, "APA italicises the title"
    assert re.search(r'<script src="/static/citations\.js\?v=[0-9a-f]{12}" defer></script>', html)
    assert "<script>" not in html, "no inline script (the CSP forbids it)"


def test_citations_escape_bibtex_and_html_and_do_without_author_and_date(
    tmp_path: Path, make_article: Callable[..., Path]
) -> None:
    from webapp import create_app

    corpus = tmp_path / "corpus"
    make_article(corpus, slug="hostile", id=910001, title=HOSTILE_TITLE, author=None, date=None)
    build_index(corpus, tmp_path / "ix", semantic=False)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "ix")}).test_client()
    html = client.get("/learn/testing/questions/hostile", base_url=SITE).get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    today = dt.date.today()
    cited = client.get("/api/articles/910001", base_url=SITE).get_json()["citations"]
    url = f"{SITE}/learn/testing/questions/hostile"
    assert cited["apa"] == f"{HOSTILE_TITLE} (n.d.). Article Search. {url}"
    assert cited["mla"] == f"\u201c{HOSTILE_TITLE}\u201d Article Search, {url}. Accessed {today.day} {MLA_MONTH[today.month - 1]} {today.year}."
    assert cited["bibtex"] == (
        "@misc{articleusers,\n"
        r"  title        = {{Why do 50\% of \{C++\} \& R\_2 users pay \$5 for \#1 \~{} \^{} \textbackslash{} <b>bold</b>?}}," "\n"
        "  howpublished = {Article Search},\n"
        f"  url          = {{{url}}},\n"
        f"  urldate      = {{{today.isoformat()}}}\n"
        "}"
    )
    assert texts_by_id(html)["cite-bibtex"] == cited["bibtex"], "the page shows the escaped entry as text, tags and all"


MLA_MONTH = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words", "plain words"),
        ("a\\b{c}", r"a\textbackslash{}b\{c\}"),
        ("100% & $x_1$ #2 ~ ^", r"100\% \& \$x\_1\$ \#2 \~{} \^{}"),
    ],
)
def test_bibtex_escape(text: str, escaped: str) -> None:
    assert bibtex_escape(text) == escaped


def test_a_url_that_would_break_the_bibtex_field_is_percent_encoded() -> None:
    article = Article(id=1, title="T", question="T", answer="A", url="/t", author="Jane Q. Public", date=dt.date(2024, 9, 3))
    apa, mla, bibtex = citations_for(article, "https://h.example/t{}%#\\x", "Site & Co")
    assert "  url          = {https://h.example/t%7B%7D%25%23%5Cx}\n" in bibtex.text
    assert "  howpublished = {Site \\& Co},\n" in bibtex.text
    assert apa.text == "Jane Q. Public. (2024, September 3). T. Site & Co. https://h.example/t{}%#\\x"
    assert mla.text == "Jane Q. Public. \u201cT.\u201d Site & Co, 3 Sept. 2024, https://h.example/t{}%#\\x."
    assert bibtex.text.startswith("@misc{jane2024")
