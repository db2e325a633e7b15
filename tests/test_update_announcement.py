"""An update's articles appear when its pointer bump announces them, on every thread at once.

`index update` commits into the live folder and then bumps CURRENT. A thread
that opened its first searcher between the two (a worker's new thread, under
load) read the new articles while every other thread still served the old
ones, and labelled them with the old generation: under a rebuild run an article
flickered 200/404 between requests for seconds. Here the moment between commit
and bump is made to last.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from whoosh import index as whoosh_index

from indexer import IndexStore, SearchService, build_index, update_index
from indexer.search import pool as pool_module
from indexer.writing import update as update_module
from support.processes import run_cli

WORD = "zygomorphy"


def live_commit(index: Path) -> int:
    return whoosh_index.open_dir(str(index / IndexStore(index).require_pointer().dir)).latest_generation()


def search_on_a_new_thread(service: SearchService) -> dict[str, Any]:
    """Search from a thread that has no searcher yet; what it found, its generation and when it finished."""
    seen: dict[str, Any] = {}

    def search() -> None:
        seen["total"] = service.search(WORD).total
        seen["generation"] = service.generation
        seen["finished"] = time.monotonic()

    thread = threading.Thread(target=search)
    thread.start()
    thread.join(30)
    return seen


def update_committed_not_announced(corpus: Path, index: Path, make_article: Callable[..., Path], slug: str) -> tuple[Any, threading.Thread]:
    """Start an update adding an article with WORD; return the pointer before it, once the update has committed."""
    before = IndexStore(index).require_pointer()
    make_article(corpus / "testing", slug=slug, id=990_100 + len(slug), title=f"What is {WORD}?",
                 answer=f"{WORD.capitalize()} is symmetry in one plane only.")
    updating = threading.Thread(target=update_index, args=(corpus, index))
    updating.start()
    deadline = time.monotonic() + 30
    while live_commit(index) == before.commit and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live_commit(index) > before.commit, "the update did not commit"
    return before, updating


@pytest.fixture
def held_bump(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An update's bump waits for this event (the update has committed by then)."""
    release = threading.Event()
    real_bump = IndexStore.bump

    def bump_when_released(self: IndexStore, *args: Any) -> Any:
        release.wait(30)
        return real_bump(self, *args)

    monkeypatch.setattr(IndexStore, "bump", bump_when_released)
    return release


def test_a_searcher_opened_between_commit_and_bump_waits_for_the_bump(
    corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path], held_bump: threading.Event
) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    with SearchService(index) as service:
        assert service.search(WORD).total == 0
        before, updating = update_committed_not_announced(corpus_dir, index, make_article, "announced")
        releaser = threading.Timer(0.3, held_bump.set)
        released_at = time.monotonic() + 0.3
        releaser.start()
        seen = search_on_a_new_thread(service)
        updating.join(30)
    assert seen["total"] == 1 and seen["generation"] == before.generation + 1
    assert seen["finished"] >= released_at, "the new thread answered with the update before it was announced"


def test_a_commit_never_announced_is_served_after_a_bounded_wait(
    corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path], held_bump: threading.Event,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """An update killed between its commit and its bump: new threads wait a moment, say so once, and serve."""
    monkeypatch.setattr(pool_module, "ANNOUNCE_SECONDS", 0.2)
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    _, updating = update_committed_not_announced(corpus_dir, index, make_article, "unannounced")
    try:
        with caplog.at_level(logging.WARNING), SearchService(index) as service:
            started = time.monotonic()
            first, second = search_on_a_new_thread(service), search_on_a_new_thread(service)
    finally:
        held_bump.set()
        updating.join(30)
    assert first["total"] == second["total"] == 1
    assert first["finished"] - started >= 0.2
    assert caplog.text.count("the next `index update` announces it") == 1


def test_an_update_stopped_just_before_its_commit_leaves_a_generation_that_serves(
    corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update writes the vocabulary (and vectors) before its Whoosh commit: killed in between, the
    generation's file list still named the live commit with the old sizes, and it was refused."""
    index = tmp_path / "index"
    build_index(corpus_dir, index)
    make_article(corpus_dir / "testing", slug="never-committed", id=990_103, title=f"What is {WORD}?",
                 answer=f"{WORD.capitalize()} is symmetry in one plane only.")

    def killed(writer: Any, **options: Any) -> None:
        update_module.abandon(writer)  # (a killed process's files close with it)
        raise SystemExit("killed before the commit")

    monkeypatch.setattr(update_module, "commit", killed)
    with pytest.raises(SystemExit):
        update_index(corpus_dir, index)
    with SearchService(index) as service:  # a worker starting now
        assert service.search(WORD).total == 0
        assert service.search("drug tolerance").total > 0
    monkeypatch.undo()
    update_index(corpus_dir, index)
    with SearchService(index) as service:
        assert service.search(WORD).total == 1
    assert run_cli("index", "verify", "--index", str(index)).returncode == 0
