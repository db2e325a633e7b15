"""Shared fixtures: a copy of the sample corpus and indexes built from it, all under tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
from indexer import build_index

from helpers import SAMPLE_CORPUS, article_text


@pytest.fixture(scope="session", autouse=True)
def analytics_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Searches made by tests (and the servers they start) are recorded in a temporary file, never in var/."""
    path = tmp_path_factory.mktemp("analytics") / "analytics.sqlite3"
    os.environ["ARTICLE_SEARCH_ANALYTICS_DB"] = str(path)
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-examples", type=int, default=None,
        help="generated requests per route and generator in tests/test_fuzz.py (make bench runs more)",
    )


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
def semantic_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the sample corpus and its index by meaning, built once a session (embedding
    takes seconds): tests read their own copies (``support.corpora.copy_corpus_and_index``), never this one."""
    root = tmp_path_factory.mktemp("semantic-sample")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    build_index(root / "corpus", root / "index", semantic=True)
    return root / "corpus", root / "index"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the sample corpus shared by read-only tests."""
    target = tmp_path_factory.mktemp("sample") / "index"
    build_index(SAMPLE_CORPUS, target)
    return target


# -- web app ----------------------------------------------------------------------


@pytest.fixture
def app(sample_index: Path) -> Any:
    """The web app over the shared sample index (read-only)."""
    from webapp import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(sample_index)})


@pytest.fixture
def client(app: Any) -> Any:
    """A Flask test client for :func:`app`."""
    return app.test_client()
