"""Browser pages for the tests in tests/browser/ (Playwright's Chromium, started by their conftest)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


@contextlib.contextmanager
def new_tab(chromium: Any, **context_options: Any) -> Iterator[Any]:
    """A page in a context of its own (Playwright's ``new_context`` options), closed after the block."""
    context = chromium.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()
