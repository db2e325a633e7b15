"""`X-Index-Generation`: every response that used the index names the generation that answered it.

Operators (and tests/test_reliability_rebuild.py) read it to see each worker
switch after a rebuild, so it must carry the live pointer's number, move on
after an update, and stay off responses that never touched the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from helpers import wait_for
from indexer import IndexStore, update_index
from webapp import create_app

HEADER = "X-Index-Generation"
TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
#: Short, so the test waits little; long enough that a check is throttled, as in production (1 s).
REFRESH = 0.3


def live_generation(index: Path) -> int:
    return IndexStore(index).require_pointer().generation


@pytest.fixture
def client(index_dir: Path) -> Any:
    return create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "REFRESH_SECONDS": REFRESH}).test_client()


@pytest.mark.parametrize("path", ["/api/search?q=tolerance", "/search?q=tolerance", TOLERANCE_URL])
def test_responses_that_searched_name_the_live_generation(client: Any, index_dir: Path, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers[HEADER] == str(live_generation(index_dir)) == "1"


def test_the_api_body_and_the_header_agree(client: Any) -> None:
    response = client.get("/api/search?q=tolerance")
    assert response.headers[HEADER] == str(response.get_json()["generation"])


@pytest.mark.parametrize("path", ["/static/style.css", "/embed.js"])
def test_files_that_never_touch_the_index_carry_no_generation(client: Any, path: str) -> None:
    with client.get(path) as response:  # a file response: close it
        assert response.status_code == 200
        assert HEADER not in response.headers


def test_the_header_moves_on_after_an_index_update(
    client: Any, corpus_dir: Path, index_dir: Path, make_article: Callable[..., Path]
) -> None:
    """After `index update` commits, the next searches answer from (and name) the new generation."""
    assert client.get("/api/search?q=tolerance").headers[HEADER] == "1"
    make_article(corpus_dir / "testing", slug="quokkafish", id=990_123, title="What is a quokkafish?")
    update_index(corpus_dir, index_dir)
    new = live_generation(index_dir)
    assert new > 1

    def answered_by_new() -> bool:
        response = client.get("/api/search?q=quokkafish")
        return response.headers[HEADER] == str(new) and response.get_json()["total"] == 1

    assert wait_for(answered_by_new, timeout=10), "the header never named the updated generation"
    assert client.get("/search?q=tolerance").headers[HEADER] == str(new)
