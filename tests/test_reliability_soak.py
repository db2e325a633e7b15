"""Soak: a realistic query mix on 2 gunicorn workers; memory and open files must stay flat after warm-up.

Warm-up fills each worker's searchers and result cache; then every worker's
RSS may grow by less than 10%, and its open file descriptors (listed in /proc
after the clients have hung up) gain nothing but the few live-index column
files a thread opens the first time a query needs them.

"Fills" is meant: a worker's result cache grows until it holds CACHE_SIZE
results. After the former 1,500-request warm-up one worker's cache held 373 of
512 (measured in one process), and filling the rest read as 6-11% growth on a
loaded machine. So the warm-up sends enough distinct searches that even a
worker answering a quarter of them reaches the bound, and what follows repeats
the warm-up's mix. The run is recorded by support/soak.py; its long form
(30,000 requests) is tests/bench/reliability.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from indexer.search.generation import CACHE_SIZE
from support.soak import SoakRun, soak_run

pytestmark = pytest.mark.slow

REQUESTS = 2400
#: About 58% of the mix are searches, nearly all distinct: 7 x CACHE_SIZE requests give each
#: worker more than CACHE_SIZE of them even if it answers only a quarter of the warm-up.
WARMUP = 7 * CACHE_SIZE
#: RSS a worker may gain after warm-up.
GROWTH = 0.10
#: Descriptors a worker may still open after warm-up: each of its threads opens a
#: segment's column files the first time a query needs them (bounded, not a leak).
#: Anything else new (a socket, a pipe, a deleted or an old generation's file) is a leak.
LAZY_FILES = 8


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SoakRun:
    recorded = soak_run(tmp_path_factory.mktemp("soak"), requests=REQUESTS, warmup=WARMUP, concurrency=16,
                        synthetic=150, max_seconds=240, mix_size=WARMUP)
    print(f"soak: {recorded.figures()}")
    return recorded


def test_every_request_was_sent_and_answered_by_the_same_workers(run: SoakRun) -> None:
    assert len(run.samples) >= REQUESTS, f"only {len(run.samples)} of {REQUESTS} requests were sent in time"
    assert [f"{s.target}: {s.status} {s.error}" for s in run.failed] == []
    assert len(run.workers) == 2
    assert sorted(run.workers_after) == sorted(run.workers), "workers were replaced (a crash or timeout)"


def test_worker_memory_stays_flat_after_warm_up(run: SoakRun) -> None:
    for pid in run.workers:
        warm, end = run.points[0][pid].rss_kb, run.points[-1][pid].rss_kb
        assert end <= warm * (1 + GROWTH), f"worker {pid} RSS grew {warm} -> {end} kB (over {GROWTH:.0%})"


def test_workers_open_nothing_new_but_a_few_live_index_files(run: SoakRun) -> None:
    live = f"{run.live_dir}/"
    for pid in run.workers:
        new = Counter(run.points[-1][pid].files) - Counter(run.points[0][pid].files)
        strays = sorted(target for target in new if not target.startswith(live) or target.endswith("(deleted)"))
        assert strays == [], f"worker {pid} opened more than live-index files: {strays}"
        assert sum(new.values()) <= LAZY_FILES, f"worker {pid} opened {sorted(new.elements())}"
