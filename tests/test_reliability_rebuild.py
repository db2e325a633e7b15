"""Serving through rebuilds: the real server (2 gunicorn workers) under loopback load while the index is rebuilt.

A full `index build` and two `index update`s run as real processes while
clients send a mix of searches, result pages and article pages. No request
may fail or answer 5xx, and within 2 s of each commit every worker answers
from the new generation: each response names its generation (X-Index-Generation)
and the access log names the worker, and articles added (and removed) mid-run
appear (and go) on every worker. The run is recorded by support/rebuilds.py;
its long form is tests/bench/reliability.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.load import Sample
from support.rebuilds import PROBES, RebuildRun, rebuild_run

pytestmark = pytest.mark.slow

REQUESTS = 1500
#: How soon after a commit every worker must answer from the new generation.
SWITCH_SECONDS = 2.0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RebuildRun:
    recorded = rebuild_run(tmp_path_factory.mktemp("rebuild"), requests=REQUESTS, concurrency=16, synthetic=150,
                           max_seconds=150)
    print(f"rebuild run: {recorded.figures()}")
    return recorded


def test_the_writers_succeeded_and_the_load_outlived_them(run: RebuildRun) -> None:
    assert [(command, code) for command, code, _ in run.writer_outputs] == [("build", 0), ("update", 0), ("update", 0)], (
        run.writer_outputs)
    assert [label for _, _, label in run.commits] == ["index build", "index update", "index update"], run.commits
    assert run.load_outlived_writers, f"the load stopped (after {len(run.samples)} requests) before the writers had finished"
    assert len(run.samples) >= REQUESTS
    # Both kinds of proof were exercised: probes before and after each commit.
    assert {"api", "page", "article", "probe", "probe-search"} <= {sample.kind.split(":")[0] for sample in run.samples}


def test_no_request_failed_and_no_worker_was_replaced(run: RebuildRun) -> None:
    failed = [f"{s.target}: {s.status} {s.error}" for s in run.samples if s.status == 0 or s.status >= 500]
    assert failed == []
    unexpected = [f"{s.target}: {s.status}" for s in run.samples if not s.kind.startswith("probe:") and s.status != 200]
    assert unexpected == []
    assert len(run.workers) == 2 and sorted(run.workers_after) == sorted(run.workers), "a worker crashed or timed out"


def test_every_worker_answers_from_each_new_generation_within_two_seconds(run: RebuildRun) -> None:
    late: list[str] = []
    for n, (generation, when, label) in enumerate(run.commits):
        end = run.commits[n + 1][1] if n + 1 < len(run.commits) else float("inf")
        window = [s for s in run.samples if when + SWITCH_SECONDS <= s.started < end]
        answered = {run.worker_of(sample) for sample in window}
        assert set(run.workers) <= answered, f"a worker answered nothing {SWITCH_SECONDS:g} s after commit {n} ({label})"
        late += [f"{s.target} from generation {s.generation}, {s.started - when:.2f} s after {generation} ({label})"
                 for s in window if s.generation is not None and s.generation < generation]
    assert late == []


def test_articles_added_and_removed_mid_run_appear_and_go(run: RebuildRun) -> None:
    wrong: list[str] = []
    for sample in run.samples:
        if not sample.kind.startswith("probe"):
            continue
        state = commits_seen(sample, run.commits, run.earliest)
        if state is None:
            continue  # in flight while a commit happened, or inside a switch window: old or new is fine
        probe = next(p for p in PROBES if sample.kind.endswith(p.slug))
        present = probe.present_after(state)
        if sample.kind.startswith("probe:") and sample.status != (200 if present else 404):
            wrong.append(f"{probe.slug} answered {sample.status} after commit {state} (present={present})")
        elif sample.kind.startswith("probe-search:") and sample.status == 200:
            total = json.loads(sample.body)["total"]
            if total != (1 if present else 0):
                wrong.append(f"search for {probe.word} found {total} after commit {state} (present={present})")
    assert wrong == []


def commits_seen(sample: Sample, commits: list[tuple[int, float, str]], earliest: list[float]) -> int | None:
    """Index of the last commit ``sample`` must see (-1: none), or None when either answer is right.

    A commit must show within SWITCH_SECONDS of the poll that saw it; one that
    came after the answer ended (CURRENT still read the old generation then)
    must not show; one that may have landed while the answer was made may.
    """
    state = -1
    for n, ((_, when, _), before) in enumerate(zip(commits, earliest)):
        if when + SWITCH_SECONDS <= sample.started:
            state = n
        elif before < sample.ended:
            return None
        else:
            break
    return state
