"""The embed widget on another site, in real headless Chromium.

Three servers on loopback: our app (`article-search serve`, with one host
origin in ARTICLE_SEARCH_CORS_ORIGINS) and two plain host sites on other
ports, i.e. other origins: one allowed, one not. Host pages hold nothing but
the snippet (plus, where a test says so, hostile CSS or attributes).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from support.corpora import SAMPLE_CORPUS
from support.servers import start_server
from indexer import build_index

pytestmark = pytest.mark.browser

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
TOLERANCE_TITLE = "What mechanisms contribute to the development of drug tolerance?"
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_ARTICLE = {
    "id": 990001, "date": "2025-03-01", "title": HOSTILE_TITLE, "article_title": HOSTILE_TITLE,
    "author": "QuickTakes", "question": "<script>alert(2)</script> Is this escaped?",
    "answer": "It must be: <img src=x onerror=alert(3)> and <script>alert(4)</script> onerror.",
    "subject": "Testing", "file_name": "hostile-title.md", "url": "/learn/testing/questions/hostile-title",
}
AGGRESSIVE_CSS = "<style>* { color: red !important; display: inline } body { font: 40px/1 serif }</style>"
OPTIONS = "article-search [role=option]"
#: The options once the list answers the text as typed: while the widget waits out its debounce or
#: a request, it marks the list aria-busy (what it shows is an older prefix's, about to be replaced).
SETTLED = "article-search [part=listbox]:not([aria-busy]) [role=option]"


# -- servers ----------------------------------------------------------------------


class HostSite(ThreadingHTTPServer):
    """Another web site: serves registered pages, plus a deliberately unreliable copy of the API."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HostHandler)
        self.pages: dict[str, str] = {}
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"

    def page(self, name: str, body: str, head: str = "") -> str:
        """Register a page holding ``body`` and return its url."""
        self.pages[f"/{name}"] = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page</title>{head}</head>'
            f"<body>{body}</body></html>"
        )
        return f"{self.origin}/{name}"


class HostHandler(BaseHTTPRequestHandler):
    server: HostSite

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/flaky/api/search":
            self.flaky_api(parse_qs(url.query).get("q", [""])[0])
        elif url.path in self.server.pages:
            self.send("text/html; charset=utf-8", self.server.pages[url.path].encode())
        else:
            self.send("text/plain", b"not found", 404)

    def flaky_api(self, q: str) -> None:
        """``fail…`` answers 500, ``slow…`` takes 1.5 s, ``down…`` hangs up; anything else succeeds."""
        if q.startswith("down"):
            self.close_connection = True  # no answer at all: the browser sees a network error
            return
        if q.startswith("fail"):
            self.send("application/json", b'{"ok": false, "error": "broken on purpose", "status": 500}', 500)
            return
        if q.startswith("slow"):
            time.sleep(1.5)
        hit = {"id": 1, "title_html": f"<mark>Recovered</mark> for {q} &amp; fine", "url": "/learn/x",
               "subject": "Testing", "snippet_html": "It works again.", "title": "Recovered"}
        self.send("application/json", json.dumps({"ok": True, "total": 1, "results": [hit]}).encode())

    def send(self, content_type: str, body: bytes, status: int = 200) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the widget gave up on a slow answer and closed the connection

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[HostSite, HostSite]]:
    """Two host sites on their own ports: (allowed, blocked)."""
    sites = (HostSite(), HostSite())
    threads = [threading.Thread(target=site.serve_forever, args=(0.1,), daemon=True) for site in sites]
    for thread in threads:
        thread.start()
    try:
        yield sites
    finally:
        for site in sites:
            site.shutdown()
            site.server_close()


@pytest.fixture(scope="module")
def api(hosts: tuple[HostSite, HostSite], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our app over the sample corpus plus an article with a hostile title, allowing only the first host."""
    work = tmp_path_factory.mktemp("widget")
    corpus = work / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "testing").mkdir(exist_ok=True)
    front = yaml.safe_dump(HOSTILE_ARTICLE, sort_keys=False, allow_unicode=True, width=1000)
    (corpus / "testing" / "hostile-title.md").write_text(f"---\n{front}---\n", encoding="utf-8")
    build_index(corpus, work / "index")
    env = {"ARTICLE_SEARCH_CORS_ORIGINS": hosts[0].origin}
    with start_server(work / "index", log=work / "server.log", workers=1, env=env) as server:
        yield server.base


@pytest.fixture
def dialogs(page: Any) -> list[str]:
    """Messages of any alert/confirm/prompt the page opens (there must be none)."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def snippet(api: str, attributes: str = "") -> str:
    return f'<script src="{api}/embed.js" defer></script><article-search{attributes}></article-search>'


def type_query(page: Any, text: str) -> Any:
    box = page.locator("article-search input")
    box.click()
    box.press_sequentially(text, delay=25)
    return box


# -- tests ------------------------------------------------------------------------


def test_search_as_you_type_and_keyboard_navigation(
    page: Any, hosts: tuple[HostSite, HostSite], api: str, tmp_path: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if "/api/" in request.url else None)
    page.goto(hosts[0].page("only-snippet.html", snippet(api)))
    page.keyboard.press("/")
    box = page.locator("article-search input")
    assert not box.evaluate("el => el.matches(':focus')"), "no global shortcut unless the host asks for one"
    assert box.get_attribute("role") == "combobox" and box.get_attribute("aria-expanded") == "false"

    type_query(page, "tolerance")
    options = page.locator(OPTIONS)
    page.locator(SETTLED).first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    titles = page.locator(f"{OPTIONS} .t").all_inner_texts()
    assert TOLERANCE_TITLE in titles and len(titles) == 5
    assert page.locator(f"{OPTIONS} mark", has_text=re.compile("^tolerance$", re.I)).count() >= 2
    assert len(requests) < len("tolerance"), "typing is debounced"
    assert all(url.startswith(f"{api}/api/search?") for url in requests), "the API of the site that served embed.js"
    assert "q=tolerance" in requests[-1]
    see_all = page.locator("article-search [part=see-all]")
    assert see_all.get_attribute("href") == f"{api}/search?q=tolerance"
    assert re.fullmatch(r"See all \d+ results", see_all.inner_text())
    assert re.match(r"\d+ of \d+ results", page.locator("article-search [role=status]").inner_text())

    box.press("ArrowDown")
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "o1"
    assert options.nth(1).get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == "o0"
    assert options.nth(1).get_attribute("aria-selected") == "false"
    page.screenshot(path=str(tmp_path / "widget-open.png"))
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and box.get_attribute("aria-activedescendant") is None
    box.press("ArrowDown")
    assert box.get_attribute("aria-expanded") == "true", "Down Arrow opens the results again"
    for _ in range(titles.index(TOLERANCE_TITLE) + 1):
        box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(f"{api}{TOLERANCE_URL}?q=tolerance")
    assert page.locator("h1").inner_text() == TOLERANCE_TITLE
    assert (tmp_path / "widget-open.png").stat().st_size > 10_000


def test_host_css_cannot_break_it_and_it_cannot_break_the_host(
    page: Any, hosts: tuple[HostSite, HostSite], api: str, tmp_path: Path
) -> None:
    body = f'<p id="host-text">Host text with a <mark id="host-mark">mark</mark>.</p>{snippet(api, " shortcut=/")}'
    page.goto(hosts[0].page("aggressive.html", body, head=AGGRESSIVE_CSS))
    page.keyboard.press("/")
    box = page.locator("article-search input")
    assert box.evaluate("el => el.matches(':focus')"), "the host asked for the / shortcut"
    box.press_sequentially("tolerance", delay=25)
    options = page.locator(OPTIONS)
    page.locator(SETTLED).nth(1).wait_for()
    first, second = options.nth(0).bounding_box(), options.nth(1).bounding_box()
    popup = page.locator("article-search [part=popup]").bounding_box()
    field = box.bounding_box()
    assert field["width"] > 250 and field["height"] < 80, "the box keeps its own shape"
    assert popup["y"] >= field["y"] + field["height"], "results drop down below the box"
    assert second["y"] >= first["y"] + first["height"] - 1, "results stack as blocks"
    assert first["width"] > popup["width"] * 0.9
    colour = "el => getComputedStyle(el).color"
    assert page.locator(f"{OPTIONS} .t").first.evaluate(colour) != "rgb(255, 0, 0)"
    assert page.locator(f"{OPTIONS} .s").first.evaluate(colour) != "rgb(255, 0, 0)"
    assert page.locator(f"{OPTIONS} .x").first.evaluate("el => getComputedStyle(el).fontSize") == "14.4px"
    # The widget's own rules (mark, a, p, input …) stay inside its shadow root.
    assert page.locator("#host-text").evaluate(colour) == "rgb(255, 0, 0)"
    assert page.locator("#host-mark").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 0)"
    page.screenshot(path=str(tmp_path / "widget-aggressive-host.png"))
    href = options.nth(1).get_attribute("href")
    assert href and href.startswith(f"{api}/learn/") and href.endswith("?q=tolerance")
    options.nth(1).click()
    page.wait_for_url(href)


def test_origin_not_in_the_allowlist_is_blocked_with_a_clear_message(
    page: Any, console_errors: list[str], hosts: tuple[HostSite, HostSite], api: str, tmp_path: Path
) -> None:
    page.goto(hosts[1].page("blocked.html", snippet(api)))
    type_query(page, "tolerance")
    message = page.locator("article-search [part=message]")
    message.wait_for()
    assert message.inner_text() == "Search is unavailable here: " + api.removeprefix("http://") + (
        " could not be reached from this page."
    )
    assert page.locator(OPTIONS).count() == 0
    assert page.locator("article-search [role=status]").inner_text() == message.inner_text()
    fallback = page.locator("article-search [part=see-all]")
    assert fallback.inner_text() == f"Search on {api.removeprefix('http://')} instead"
    assert fallback.get_attribute("href") == f"{api}/search?q=tolerance"
    assert any("blocked by CORS policy" in error for error in console_errors), console_errors
    page.screenshot(path=str(tmp_path / "widget-blocked.png"))


def test_axe_finds_no_serious_violations_with_the_widget_open(
    page: Any, hosts: tuple[HostSite, HostSite], api: str, axe_source: str
) -> None:
    page.goto(hosts[0].page("axe.html", f"<main><h1>A host page</h1>{snippet(api)}<p>Host content.</p></main>"))
    box = type_query(page, "tolerance")
    page.locator(SETTLED).first.wait_for()
    box.press("ArrowDown")
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_hostile_title_in_the_corpus_shows_as_text(
    page: Any, dialogs: list[str], hosts: tuple[HostSite, HostSite], api: str
) -> None:
    page.goto(hosts[0].page("hostile-title.html", snippet(api)))
    type_query(page, "onerror")
    title = page.locator(f"{OPTIONS} .t").first
    title.wait_for()
    assert title.inner_text() == HOSTILE_TITLE
    assert page.locator("article-search img, article-search script").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == []


def test_hostile_attributes_do_not_inject_markup(
    page: Any, dialogs: list[str], hosts: tuple[HostSite, HostSite], api: str
) -> None:
    hostile = {
        "placeholder": '"><img src=x onerror=alert(1)>',
        "label": "<svg onload=alert(2)>",
        "subject": '"><script>alert(3)</script>',
        "results": "<b>9</b>",
        "target": "javascript:alert(4)",
        "api-base": "javascript:alert(5)//",
        "shortcut": "<i>",
        "timeout": "NaN<script>",
    }
    attributes = "".join(f" {name}='{value}'" for name, value in hostile.items())
    page.goto(hosts[0].page("hostile-attributes.html", snippet(api, attributes)))
    box = type_query(page, "tolerance")
    page.locator("article-search [part=see-all]").wait_for()
    assert box.get_attribute("placeholder") == hostile["placeholder"]
    assert page.locator("article-search label").text_content() == hostile["label"]
    assert box.get_attribute("aria-keyshortcuts") is None, "a shortcut must be one key"
    injected = page.evaluate(
        "() => document.querySelector('article-search').shadowRoot.querySelectorAll('img, svg, script, b, i').length"
    )
    assert injected == 0
    hrefs = page.evaluate(
        "() => [...document.querySelector('article-search').shadowRoot.querySelectorAll('[href]')]"
        ".map(a => [a.getAttribute('href'), a.getAttribute('target')])"
    )
    assert hrefs and all(href.startswith(f"{api}/") and target == "_self" for href, target in hrefs), hrefs
    assert page.evaluate("() => document.querySelectorAll('img, svg, b, i').length") == 0
    assert dialogs == []


def test_failing_slow_and_unreachable_api_show_a_message_and_recover(
    page: Any, hosts: tuple[HostSite, HostSite], api: str
) -> None:
    site = hosts[0]
    page.goto(site.page("flaky.html", snippet(api, f' api-base="{site.origin}/flaky/" timeout="700"')))
    box = page.locator("article-search input")
    message = page.locator("article-search [part=message]")
    title = page.locator(f"{OPTIONS} .t")

    def expect_recovery(query: str) -> None:
        box.fill(query)
        page.wait_for_function(
            "q => document.querySelector('article-search').shadowRoot.querySelector('.t')?.textContent"
            " === `Recovered for ${q} & fine`",
            arg=query,
        )
        assert message.is_hidden()
        assert title.locator("mark").inner_text() == "Recovered"

    box.click()
    box.fill("failing")
    message.filter(has_text="Search is not working right now (error 500). Try again in a moment.").wait_for()
    expect_recovery("fine")
    box.fill("slowly")
    message.filter(has_text="Search is taking too long. Keep typing to try again.").wait_for()
    expect_recovery("fine again")
    box.fill("down")
    message.filter(has_text=re.compile(r"^Search is unavailable here: .* could not be reached")).wait_for()
    expect_recovery("fine at last")
    # The latest answer wins: a slow answer to an older query never replaces a newer one.
    box.fill("slow but older")
    page.wait_for_timeout(300)
    expect_recovery("newer")
    page.wait_for_timeout(1500)
    assert title.inner_text() == "Recovered for newer & fine" and message.is_hidden()


def test_live_demo_on_the_guide_runs_under_the_site_csp(page: Any, console_errors: list[str], api: str) -> None:
    page.goto(f"{api}/embedding")
    type_query(page, "tolerance")
    page.locator(SETTLED).first.wait_for()
    assert page.locator(f"{OPTIONS} mark").count() > 0
    assert page.locator("article-search input").evaluate("el => getComputedStyle(el).borderTopWidth") == "2px", (
        "the widget's constructed stylesheet applies under style-src 'self'"
    )
    assert console_errors == []


def test_only_the_embed_page_can_be_framed(page: Any, hosts: tuple[HostSite, HostSite], api: str) -> None:
    frames = (
        f'<iframe name="embed" title="Search results" src="{api}/embed?q=tolerance" width="600" height="400"></iframe>'
        f'<iframe name="home" title="Home page" src="{api}/" width="600" height="200"></iframe>'
    )
    page.goto(hosts[1].page("frames.html", frames))
    embed = page.frame_locator("iframe[name=embed]")
    link = embed.get_by_role("link", name=TOLERANCE_TITLE)
    assert link.inner_text() == TOLERANCE_TITLE
    assert link.get_attribute("target") == "_top"
    home = page.frame(name="home")
    assert home is not None and not home.url.startswith(api), "the browser refused to frame the home page"
    link.click()
    page.wait_for_url(f"{api}{TOLERANCE_URL}?q=tolerance")
