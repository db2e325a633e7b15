"""Crash safety: kill -9 `index build` at 20 seeded random moments, and `index update` mid-commit.

Each kill takes the whole process group (os.killpg), so the 2-process writer
used for corpora of 2,000 files or more dies with its children. After each
kill the live index answers the same queries as before, for a fresh reader
and for one that stayed open across the kill; the next build or update then
succeeds with no clean-up by hand. The long form is tests/bench/reliability.py.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.reliability import ROOT, CrashRun, corpus_count, crash_builds, crash_updates, write_synthetic
from indexer import SearchService, build_index, update_index

pytestmark = pytest.mark.slow

SEED = 20261127


def test_twenty_kill_9s_during_builds_leave_the_live_index(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    run = CrashRun()
    crash_builds(tmp_path, "small", 300, 14, rng, run, words=200)
    crash_builds(tmp_path, "big", 2050, 6, rng, run, words=40)  # 2 writer processes
    print(f"crash run: {run.survived}/{len(run.kills)} kills survived; {run.kills}")
    assert len(run.kills) == 20
    assert run.problems == []
    assert run.survived == 20
    assert sum(1 for kill in run.kills if not kill["finished_first"]) >= 12, "most kills must land mid-build"
    assert any(kill["processes"] >= 3 for kill in run.kills if kill["corpus"] == "big"), (
        "some kills must land while the 2 writer processes run"
    )


def test_kill_9_during_an_update_commit_leaves_a_whole_index(tmp_path: Path) -> None:
    run = CrashRun()
    crash_updates(tmp_path, 3, random.Random(SEED), run, synthetic=2050, edits=300)
    print(f"update kills: {run.kills}")
    assert run.problems == []


def test_update_killed_between_commit_and_pointer_is_seen_after_the_next_update(tmp_path: Path) -> None:
    """The narrowest window: Whoosh has committed, CURRENT is not yet bumped (simulated exactly)."""
    corpus = tmp_path / "corpus"
    write_synthetic(corpus, 50)
    index = tmp_path / "index"
    build_index(corpus, index)
    reader = SearchService(index, refresh_seconds=0)
    assert reader.search("quokkafish").total == 0
    (corpus / "part-000" / "synthetic-0.md").write_text(
        (corpus / "part-000" / "synthetic-0.md").read_text("utf-8").replace("answer: ", "answer: quokkafish ", 1), "utf-8"
    )
    dies_before_bump = (
        "import os, sys; import indexer.index.store as store; "
        "store.IndexStore.bump = lambda *args, **kwargs: os._exit(137); "
        "from indexer.cli import main; sys.argv[0] = 'article-search'; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", dies_before_bump, "index", "update", "--corpus", str(corpus),
                             "--index", str(index)], env=env, capture_output=True, text=True, timeout=60)
    assert killed.returncode == 137, killed.stderr
    report = update_index(corpus, index)
    assert report.errors == []
    assert SearchService(index).search("quokkafish").total == 1
    assert reader.search("quokkafish").total == 1, "a reader open since before must see the committed update"
    assert reader.stats()["documents"] == corpus_count(corpus)
