"""kill -9 of writers: `index build` at seeded random moments, `index update` mid-commit.

Each kill takes the whole process group (os.killpg), so the 2-process writer
used for corpora of 2,000 files or more dies with its children. After each
kill the runs record what the live index answers, to a fresh reader and to
one that stayed open across the kills; they judge nothing.
tests/test_reliability_crash.py asserts the promises; tests/bench/reliability.py
prints the figures of a longer run.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import SearchService, build_index
from support import ROOT
from support.corpora import corpus_count, write_synthetic
from support.processes import cli, kill_group_at
from support.rebuilds import store_generation

__all__ = ["CRASH_QUERIES", "answers", "same_content", "BuildKill", "BuildKills", "build_kills",
           "UpdateKill", "UpdateKills", "update_kills"]

CRASH_QUERIES = ["opioid receptor", "insulin glucose", "entropy energy", "drug tolerance mechanisms", "synthetic"]


def answers(index: Path, service: SearchService | None = None) -> dict[str, Any]:
    """What the live index answers: its document count, and the match count and top urls of a few queries."""
    own = service is None
    service = service or SearchService(index, refresh_seconds=0)
    try:
        found: dict[str, Any] = {"documents": service.stats()["documents"]}
        for query in CRASH_QUERIES:
            results = service.search(query, per_page=10)
            found[query] = (results.total, [hit.url for hit in results.results])
        return found
    finally:
        if own:
            service.close()


def same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same documents and match counts (tie order may differ between two builds by 2 processes)."""
    return a["documents"] == b["documents"] and all(a[query][0] == b[query][0] for query in CRASH_QUERIES)


@dataclass
class BuildKill:
    """One kill of `index build` and what the live index answered after it."""

    at_s: float
    finished_first: bool  # the build had exited before the kill came
    processes: int  # in its group when killed (3 = the CLI and 2 writers)
    generation_before: int
    generation_after: int
    before: dict[str, Any]  # the answers of the live generation before this kill
    fresh: dict[str, Any] | None  # a new reader's answers after it (None: it raised, see error)
    kept: dict[str, Any] | None  # the answers of a reader open since before the first kill
    error: str = ""
    leftovers: list[str] = field(default_factory=list)  # tmp-* and .CURRENT* names in the index folder


@dataclass
class BuildKills:
    name: str
    files: int
    first_build: subprocess.CompletedProcess[str]
    reference: dict[str, Any]  # the first build's answers: every complete build must match them
    kills: list[BuildKill] = field(default_factory=list)
    last_build: subprocess.CompletedProcess[str] | None = None
    tmp_after_last: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    final_kept: dict[str, Any] | None = None


def build_kills(workdir: Path, name: str, synthetic: int, kills: int, rng: random.Random, *, words: int = 120) -> BuildKills:
    """Build a corpus of ``synthetic`` articles, kill ``kills`` rebuilds of it, then build once more."""
    corpus = workdir / f"corpus-{name}"
    write_synthetic(corpus, synthetic, words=words)
    index = workdir / f"index-{name}"
    # Words alone: these kills test the word index's crash safety (a build by meaning spends most of its time embedding).
    command = [*cli(), "index", "build", "--no-semantic", "--corpus", str(corpus), "--index", str(index)]
    started = time.monotonic()
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    duration = time.monotonic() - started
    if first.returncode != 0:
        return BuildKills(name, synthetic, first, {})
    run = BuildKills(name, synthetic, first, answers(index))
    expected, generation = run.reference, store_generation(index)
    with SearchService(index, refresh_seconds=0) as long_lived:
        for _ in range(kills):
            delay = rng.uniform(0.02, 0.95) * duration  # a few land after the build has finished
            finished, members = kill_group_at(command, delay)
            kill = BuildKill(round(delay, 2), finished is not None, members, generation, store_generation(index), expected, None, None)
            try:
                kill.fresh, kill.kept = answers(index), answers(index, long_lived)
            except Exception as error:  # noqa: BLE001 - any failure to answer is recorded
                kill.error = repr(error)
            kill.leftovers = sorted(path.name for path in index.iterdir() if path.name.startswith(("tmp-", ".CURRENT")))
            run.kills.append(kill)
            if kill.fresh is not None and kill.generation_after != generation:
                expected, generation = kill.fresh, kill.generation_after  # the build had swapped in before the kill
        run.last_build = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        run.tmp_after_last = sorted(path.name for path in index.glob("tmp-*"))
        run.final, run.final_kept = answers(index), answers(index, long_lived)
    return run


@dataclass
class UpdateKill:
    at_s: float
    finished_first: bool
    marked: int | None  # articles a fresh reader finds with the edit's word (None: it raised)
    documents: int | None
    error: str = ""


@dataclass
class UpdateKills:
    files: int
    edits: int
    kills: list[UpdateKill] = field(default_factory=list)
    last_update: subprocess.CompletedProcess[str] | None = None
    kept_marked: int = -1  # what a reader open since before the kills finds after the last update
    final_marked: int = -1
    final_documents: int = -1


def update_kills(workdir: Path, kills: int, rng: random.Random, *, synthetic: int = 2100, edits: int = 300) -> UpdateKills:
    """Kill `index update` mid-commit (a merging update of ``edits`` files), then update once more."""
    corpus = workdir / "corpus-update"
    write_synthetic(corpus, synthetic)
    index = workdir / "index-update"
    build_index(corpus, index)
    run = UpdateKills(corpus_count(corpus), edits)
    with SearchService(index, refresh_seconds=0) as long_lived:
        long_lived.search("synthetic")
        for path in sorted(corpus.rglob("*.md"))[:edits]:
            path.write_text(path.read_text("utf-8").replace("answer: ", "answer: zanzibarmark ", 1), "utf-8")
        command = [*cli(), "index", "update", "--corpus", str(corpus), "--index", str(index)]
        duration = _rehearse(command, index, workdir / "index-update-rehearsal")
        for _ in range(kills):
            delay = rng.uniform(0.5, 1.0) * duration  # the commit (and its merge) is the second half
            finished, _ = kill_group_at(command, delay)
            kill = UpdateKill(round(delay, 2), finished is not None, None, None)
            try:
                with SearchService(index, refresh_seconds=0) as fresh:
                    kill.marked, kill.documents = fresh.search("zanzibarmark").total, fresh.stats()["documents"]
            except Exception as error:  # noqa: BLE001
                kill.error = repr(error)
            run.kills.append(kill)
            if finished is not None:
                break  # the update completed before the kill: nothing left to interrupt
        run.last_update = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        run.kept_marked = long_lived.search("zanzibarmark").total
    with SearchService(index) as fresh:
        run.final_marked, run.final_documents = fresh.search("zanzibarmark").total, fresh.stats()["documents"]
    return run


def _rehearse(command: list[str], index: Path, copy: Path) -> float:
    """Seconds the same update takes on a copy of the index (to aim the kills)."""
    shutil.copytree(index, copy)
    started = time.monotonic()
    subprocess.run([*command[:-1], str(copy)], capture_output=True, check=True, cwd=ROOT)
    duration = time.monotonic() - started
    shutil.rmtree(copy)
    return duration
