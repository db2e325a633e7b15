"""Shared fixtures: a copy of the sample corpus and indexes built from it, all under tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from indexer import build_index

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


@pytest.fixture
def make_article() -> Callable[..., Path]:
    """Write an article into a folder: ``make_article(folder, slug=..., id=..., **fields)``."""

    def write(folder: Path, slug: str = "a-test-article", **fields: Any) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{slug}.md"
        path.write_text(article_text(slug=slug, **fields), encoding="utf-8")
        return path

    return write


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private, writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target


@pytest.fixture
def index_dir(corpus_dir: Path, tmp_path: Path) -> Path:
    """An index built from this test's own corpus copy."""
    target = tmp_path / "index"
    build_index(corpus_dir, target)
    return target


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the sample corpus shared by read-only tests."""
    target = tmp_path_factory.mktemp("sample") / "index"
    build_index(SAMPLE_CORPUS, target)
    return target
