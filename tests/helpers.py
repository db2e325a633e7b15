"""Helpers shared by test modules (import from here, not from conftest: there are two conftests)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "corpus"
SEED = ROOT.parent / "shared" / "seed"


def article_text(**overrides: Any) -> str:
    """Return an article file in the seed's format; ``overrides`` replace or add fields.

    A value of ``None`` removes that field.
    """
    slug = overrides.pop("slug", "a-test-article")
    fields: dict[str, Any] = {
        "_schema": "default",
        "id": 900001,
        "date": "2025-03-01",
        "title": "What is a test article?",
        "article_title": "What is a test article?",
        "date_format": "MMM DD, YYYY",
        "post_on_text": "Posted on",
        "seo": {"title": "QuickTakes | Testing", "page_description": "A test.", "page_keywords": "testing, fixtures"},
        "author": "QuickTakes",
        "question": "What is a test article?",
        "answer": "A test article exists for tests.\\n\\n1. **First**: one\\n2. **Second**: two",
        "subject": "Testing",
        "file_name": f"{slug}.md",
        "url": f"/learn/testing/questions/{slug}",
        "score": -1.0,
    }
    fields.update(overrides)
    fields = {key: value for key, value in fields.items() if value is not None}
    front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n&nbsp;"


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll ``condition`` every 0.1 s until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
