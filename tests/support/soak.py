"""Soak: a long realistic query mix on 2 gunicorn workers, measuring every worker's memory and open files.

:func:`soak_run` records the answers and, after warm-up, half-way and at the
end, each worker's RSS and what its descriptors point at; it judges nothing.
tests/test_reliability_soak.py asserts the promises; tests/bench/reliability.py
prints the figures of a longer run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from indexer import IndexStore, build_index
from support.corpora import copy_sample
from support.load import Sample, percentile, query_mix, run_load
from support.processes import file_targets, open_files, rss_kb
from support.servers import start_server

__all__ = ["Point", "SoakRun", "soak_run"]


@dataclass
class Point:
    """One worker at one moment: resident memory (kB) and its open descriptors' targets."""

    rss_kb: int
    files: list[str]


@dataclass
class SoakRun:
    wanted: int
    samples: list[Sample]  # after warm-up
    points: list[dict[int, Point]]  # after warm-up, half-way, at the end: worker -> point
    workers: list[int]
    workers_after: list[int]
    live_dir: Path  # the live generation's folder

    @property
    def failed(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.status != 200]

    def figures(self) -> dict[str, object]:
        times = [sample.ms for sample in self.samples]
        return {
            "requests": len(self.samples), "failed": len(self.failed),
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            "rss_kb": {pid: [point[pid].rss_kb for point in self.points] for pid in self.workers},
            "open_files": {pid: [len(point[pid].files) for point in self.points] for pid in self.workers},
        }


def soak_run(workdir: Path, *, requests: int, warmup: int, concurrency: int = 16, synthetic: int = 400,
             max_seconds: float = 900) -> SoakRun:
    """Warm up, then send ``requests`` in two halves, measuring every worker after each stage."""
    corpus = copy_sample(workdir / "corpus", synthetic)
    index = workdir / "index"
    build_index(corpus, index)
    mix = query_mix(corpus, size=1500)
    samples: list[Sample] = []
    points: list[dict[int, Point]] = []
    with start_server(index, log=workdir / "server.log", workers=2) as server:
        workers = server.worker_pids()
        sent = 0
        for count in (warmup, requests // 2, requests - requests // 2):
            offset = sent
            batch = run_load(server.port, lambda seq: mix[(seq + offset) % len(mix)], total=count,
                             concurrency=concurrency, max_seconds=max_seconds)
            if sent:
                samples += batch
            sent += count
            settle(workers)
            points.append({pid: Point(rss_kb(pid), file_targets(pid)) for pid in workers})
        workers_after = server.worker_pids()
    live = index / IndexStore(index).require_pointer().dir
    return SoakRun(requests, samples, points, workers, workers_after, live)


def settle(pids: list[int], seconds: float = 1.0) -> None:
    """Wait (at most 10 s) until the workers' open-file counts stop changing (clients have hung up)."""
    deadline = time.monotonic() + 10
    last = [open_files(pid) for pid in pids]
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = [open_files(pid) for pid in pids]
        if now == last:
            return
        last = now
