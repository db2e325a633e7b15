"""Serving through rebuilds: the real server (2 gunicorn workers) under loopback load while the index is rebuilt.

A full `index build` and two `index update`s run as real processes while
clients send a mix of searches, result pages and article pages. No request
may fail or answer 5xx, and within 2 s of each commit every worker answers
from the new generation: each response names its generation (X-Index-Generation)
and the access log names the worker, and articles added (and removed) mid-run
appear (and go) on every worker. The long form is tests/bench/reliability.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reliability import rebuild_run

pytestmark = pytest.mark.slow

REQUESTS = 1500


def test_serving_through_a_build_and_two_updates(tmp_path: Path) -> None:
    run = rebuild_run(tmp_path, requests=REQUESTS, concurrency=16, synthetic=150, max_seconds=150)
    figures = run.figures()
    print(f"rebuild run: {figures}")
    assert run.problems == []
    assert figures["requests"] >= REQUESTS and figures["failed"] == 0
    assert len(run.commits) == 3 and len(run.workers) == 2
    # Both kinds of proof were exercised: probes before and after each commit.
    kinds = {sample.kind.split(":")[0] for sample in run.samples}
    assert {"api", "page", "article", "probe", "probe-search"} <= kinds
