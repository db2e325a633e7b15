"""Fixtures for browser tests: the real server (`article-search serve`, gunicorn) and headless Chromium.

Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright's Python API;
axe-core comes from npm into `.cache/node` (the Makefile's test target installs
it). When either is missing the tests skip locally, but fail under CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from support import ROOT
from support.browsers import new_tab
from support.servers import start_server

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def missing(what: str) -> None:
    """Skip with the reason on a developer machine; fail in CI, where everything must be installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so this fails instead of skipping)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def live_server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`article-search serve` (gunicorn, 2 workers) on a free loopback port; yields its base url."""
    try:
        server = start_server(sample_index, log=tmp_path_factory.mktemp("server") / "server.log", workers=2)
    except RuntimeError as error:
        pytest.fail(str(error))
    with server:
        yield server.base


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        missing(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own context, with the site's real Content-Security-Policy enforced."""
    with new_tab(chromium) as tab:
        yield tab


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Errors the page logs (a CSP violation, a failed load, a script error), collected as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, installed by `npm install --prefix .cache/node axe-core@4`."""
    if not AXE.exists():
        missing(f"axe-core is not installed at {AXE}: run npm install --prefix .cache/node axe-core@4")
    return AXE.read_text(encoding="utf-8")
