"""An article whose title, question, answer and keywords carry XSS payloads renders inert everywhere, in real Chromium.

Every payload would set ``window.__xss`` (or open a dialog) if it ran. Each
page is loaded twice: with the site's Content-Security-Policy, and with CSP
bypassed, so the markup itself must be inert and CSP is only the second
wall. After loading (and, for the widget, showing results) the test fails if
``window.__xss`` is set, a dialog opened, or the DOM (shadow roots included)
holds an injected element, an event-handler attribute or a script url.
"""

from __future__ import annotations

import shutil
from typing import Any, Iterator

import pytest
import yaml

from indexer import build_index
from support.corpora import SAMPLE_CORPUS
from support.servers import start_server

pytestmark = pytest.mark.browser

MARK = "xssprobe"
URL = "/learn/testing/questions/xss-payloads"
TITLE = f'{MARK} <script>window.__xss=1</script><img src=x onerror="window.__xss=2"><svg onload="window.__xss=3">'
QUESTION = f'<img src=x onerror="alert(21)"> {MARK} "><svg/onload=window.__xss=22>?'
ANSWER = (
    f"The {MARK} answer.\\n\\n"
    "[click me](javascript:window.__xss=4) and ![a picture](javascript:window.__xss=5) and "
    "[mixed case](JaVaScRiPt:window.__xss=13) and [tabbed](jav&#x09;ascript:window.__xss=14).\\n\\n"
    '<a href="javascript:window.__xss=6">raw link</a> <img src=x onerror="window.__xss=7"> '
    "<script>window.__xss=8</script> <svg><script>window.__xss=9</script></svg> "
    '<iframe src="javascript:window.__xss=10"></iframe> <details open ontoggle="window.__xss=11">d</details> '
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=12"></style></mglyph></table></mtext></math> '
    '<a href="data:text/html,<script>window.__xss=15</script>">data link</a> '
    '<p onmouseover="window.__xss=18" style="background:url(javascript:window.__xss=16)">hover</p> '
    '<object data="javascript:window.__xss=19"></object> <embed src="javascript:window.__xss=20"> '
    '<body onload="alert(23)"> <input autofocus onfocus="window.__xss=24">\\n\\n'
    "[reference link][r] and <javascript:window.__xss=25>\\n\\n[r]: javascript:window.__xss=17\\n\\n"
    f"`<script>window.__xss=26</script>` {MARK} ends here."
)
KEYWORDS = f'{MARK}, <script>window.__xss=27</script>, "><img src=x onerror=window.__xss=28>, javascript:alert(29)'
ARTICLE = {
    "id": 990777, "date": "2025-03-01", "title": TITLE, "article_title": TITLE,
    "seo": {"title": TITLE, "page_description": f'"><script>window.__xss=30</script>', "page_keywords": KEYWORDS},
    "author": "<script>window.__xss=31</script>", "question": QUESTION, "answer": ANSWER,
    "subject": "Testing", "file_name": "xss-payloads.md", "url": URL, "score": -1.0,
}

INSPECT = """() => {
  const roots = [document];
  for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  const bad = [];
  const dangerous = /^\\s*(javascript|data|vbscript):/i;
  for (const root of roots) for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) bad.push(`${tag}[${attr.name}]`);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(attr.name) && dangerous.test(attr.value))
        bad.push(`${tag}[${attr.name}=${attr.value}]`);
      if (attr.name === 'style') bad.push(`${tag}[style]`);
    }
    if (['img', 'svg', 'iframe', 'object', 'embed', 'math', 'style', 'details', 'body script'].includes(tag)) bad.push(tag);
    if (tag === 'script' && !el.src) bad.push('inline script');
  }
  return {xss: window.__xss === undefined ? null : String(window.__xss), bad, roots: roots.length};
}"""


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample corpus plus the payload article, served by `article-search serve`."""
    work = tmp_path_factory.mktemp("xss")
    corpus = work / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "testing").mkdir()
    front = yaml.safe_dump(ARTICLE, sort_keys=False, allow_unicode=True, width=10_000)
    (corpus / "testing" / "xss-payloads.md").write_text(f"---\n{front}---\n", encoding="utf-8")
    report = build_index(corpus, work / "index")
    assert report.errors == [], "the payload article must be indexed, not skipped"
    with start_server(work / "index", log=work / "server.log", workers=1) as server:
        yield server.base


@pytest.fixture(params=["csp", "no-csp"])
def xss_page(request: Any, chromium: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page (with the site's CSP, or with CSP bypassed) and the dialogs it opens."""
    context = chromium.new_context(bypass_csp=request.param == "no-csp")
    page = context.new_page()
    page.set_default_timeout(10_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page, dialogs
    finally:
        context.close()


def assert_inert(page: Any, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(300)  # onload/onerror handlers fire asynchronously
    found = page.evaluate(INSPECT)
    assert found["xss"] is None, f"a payload ran on {where}: window.__xss = {found['xss']}"
    assert dialogs == [], f"a dialog opened on {where}: {dialogs}"
    assert found["bad"] == [], f"injected markup on {where}: {found['bad']}"


@pytest.mark.parametrize(
    "target",
    [f"/search?q={MARK}", URL, f"{URL}?q={MARK}+script+img+onerror+javascript", f"/embed?q={MARK}",
     f"/search?q={MARK}+script&subject=Testing"],
)
def test_payload_article_is_inert_on_every_page(xss_site: str, xss_page: tuple[Any, list[str]], target: str) -> None:
    page, dialogs = xss_page
    response = page.goto(xss_site + target)
    assert response is not None and response.status == 200
    assert_inert(page, dialogs, target)
    text = page.locator("body").inner_text()
    assert "<script>window.__xss=1</script>" in text, "the title shows as text, not dropped"


def test_payload_article_is_inert_in_the_widget(xss_site: str, xss_page: tuple[Any, list[str]]) -> None:
    page, dialogs = xss_page
    page.goto(f"{xss_site}/embedding")
    box = page.locator("article-search input").first
    box.click()
    box.press_sequentially(MARK, delay=20)
    title = page.locator("article-search [role=option] .t").first
    title.wait_for()
    assert "<script>window.__xss=1</script>" in title.inner_text()
    assert_inert(page, dialogs, "the widget")
    box.press("ArrowDown")
    box.press("Enter")  # open the article from the widget: it must be inert there too
    page.wait_for_url(f"**{URL}**")
    assert_inert(page, dialogs, "the article opened from the widget")
