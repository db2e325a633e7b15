"""Soak: a realistic query mix on 2 gunicorn workers; memory and open files must stay flat after warm-up.

Warm-up fills each worker's searchers and result cache; then every worker's
RSS may grow by less than 10%, and its open file descriptors (listed in
/proc after the clients have hung up) gain nothing but the few live-index
column files a thread opens the first time a query needs them. The long form
(30,000 requests) is tests/bench/reliability.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reliability import soak_run

pytestmark = pytest.mark.slow

REQUESTS = 3000


def test_soak_keeps_memory_and_open_files_flat(tmp_path: Path) -> None:
    run = soak_run(tmp_path, requests=REQUESTS, warmup=1500, concurrency=16, synthetic=150, max_seconds=240)
    print(f"soak: {run.requests} requests, {run.failed} failed, p50 {run.p50_ms} ms, p99 {run.p99_ms} ms, "
          f"RSS kB (after warm-up, half-way, end) {run.rss_kb}, open files {run.files}")
    assert run.problems == []
    assert run.requests >= REQUESTS and run.failed == 0
    assert len(run.rss_kb) == 2
