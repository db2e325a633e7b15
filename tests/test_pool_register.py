"""A thread that starts while another registers its searcher keeps its own open (the pool's reaping race)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from indexer.search import pool as pool_module
from indexer.search.pool import SearcherPool


class FakeHeld:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_thread_registering_meanwhile_is_not_taken_for_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = SearcherPool(store=None, refresh_seconds=1.0)  # type: ignore[arg-type]  # _register never reads the store
    theirs, release = FakeHeld(), threading.Event()

    def other_thread() -> None:
        pool._register(theirs)  # type: ignore[arg-type]
        release.wait(10)  # stays alive, so its searcher must stay open

    other = threading.Thread(target=other_thread)
    real_enumerate = threading.enumerate

    def enumerate_while_another_starts() -> list[Any]:
        seen = real_enumerate()  # the threads alive now; the other one starts just after
        if not other.is_alive() and other.ident is None:
            other.start()
            other.join(0.5)  # registers now, unless the caller holds the pool's lock
        return seen

    monkeypatch.setattr(pool_module.threading, "enumerate", enumerate_while_another_starts)
    try:
        pool._register(FakeHeld())  # type: ignore[arg-type]
        monkeypatch.setattr(pool_module.threading, "enumerate", real_enumerate)
        for _ in range(50):
            if other.ident in pool._open:
                break
            threading.Event().wait(0.02)
        assert other.ident in pool._open and not theirs.closed, "the other thread's searcher was closed under it"
    finally:
        release.set()
        other.join(10)
