"""Crash safety: kill -9 `index build` at 20 seeded random moments, and `index update` mid-commit.

Each kill takes the whole process group (os.killpg), so the 2-process writer
used for corpora of 2,000 files or more dies with its children. After each
kill the live index answers the same queries as before, for a fresh reader
and for one that stayed open across the kill; the next build or update then
succeeds with no clean-up by hand. The kills are run by support/crashes.py;
the long form is tests/bench/reliability.py.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import SearchService, build_index, update_index
from support import ROOT
from support.corpora import corpus_count, write_synthetic
from support.crashes import BuildKills, build_kills, same_content, update_kills

pytestmark = pytest.mark.slow

SEED = 20261127


def assert_survived(run: BuildKills) -> None:
    """Every kill left the live index answering: as before while CURRENT stayed, or as the corpus once it moved."""
    assert run.first_build.returncode == 0, run.first_build.stderr
    for n, kill in enumerate(run.kills):
        where = f"{run.name} kill {n} at {kill.at_s} s"
        assert kill.error == "", f"{where}: the live index failed to answer: {kill.error}"
        if kill.generation_after == kill.generation_before:
            assert kill.fresh == kill.before and kill.kept == kill.before, f"{where}: same generation, other answers"
        else:  # the build had published before the kill: a complete new generation of the same corpus
            assert kill.fresh is not None and same_content(kill.fresh, run.reference), f"{where}: the new generation is not the corpus"
            assert kill.kept == kill.fresh, f"{where}: a reader open across the kill answers otherwise"
    assert run.last_build is not None and run.last_build.returncode == 0, f"the build after the kills: {run.last_build}"
    assert run.tmp_after_last == [], "the build after the kills left tmp-* folders"
    assert run.final is not None and same_content(run.final, run.reference) and run.final_kept == run.final


def test_twenty_kill_9s_during_builds_leave_the_live_index(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    small = build_kills(tmp_path, "small", 300, 14, rng, words=200)
    big = build_kills(tmp_path, "big", 2050, 6, rng, words=40)  # 2 writer processes
    kills = small.kills + big.kills
    print(f"crash run: {len(kills)} kills; {kills}")
    assert len(kills) == 20
    assert_survived(small)
    assert_survived(big)
    assert sum(1 for kill in kills if not kill.finished_first) >= 12, "most kills must land mid-build"
    assert any(kill.processes >= 3 for kill in big.kills), "some kills must land while the 2 writer processes run"


def test_kill_9_during_an_update_commit_leaves_a_whole_index(tmp_path: Path) -> None:
    run = update_kills(tmp_path, 3, random.Random(SEED), synthetic=2050, edits=300)
    print(f"update kills: {run.kills}")
    assert run.kills, "no kill was made"
    for kill in run.kills:
        assert kill.error == "", kill
        assert kill.marked in (0, run.edits), f"half an update is visible: {kill.marked} of {run.edits} edits"
        assert kill.documents == run.files
    assert run.last_update is not None and run.last_update.returncode == 0, run.last_update
    assert run.kept_marked == run.edits, "a reader open since before the killed updates never sees the edits"
    assert (run.final_marked, run.final_documents) == (run.edits, run.files), "after the next update the index is not the corpus"


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
