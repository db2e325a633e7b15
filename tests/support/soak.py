"""Soak: a long realistic query mix on 2 gunicorn workers, measuring every worker's memory and open files.

:func:`soak_run` records the answers and, after warm-up, half-way and at the
end, each worker's RSS and what its descriptors point at; it judges nothing.
tests/test_reliability_soak.py asserts the promises; tests/bench/reliability.py
prints the figures of a longer run. :func:`timed_soak` is the soak of `make
bench` (tests/bench/soak.py): minutes of mixed load with an `index update`
every minute, each worker's RSS sampled as it goes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from indexer import IndexStore, build_index
from support.corpora import article_text, copy_sample
from support.load import Sample, percentile, query_mix, run_load
from support.processes import file_targets, open_files, rss_kb, run_cli
from support.servers import start_server

__all__ = ["Point", "SoakRun", "soak_run", "Update", "TimedSoak", "timed_soak"]


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
             max_seconds: float = 900, mix_size: int = 1500) -> SoakRun:
    """Warm up, then send ``requests`` in two halves, measuring every worker after each stage.

    The requests cycle through one mix of ``mix_size``, so what comes after a warm-up
    of at least ``mix_size`` has been asked before (by one worker or the other).
    """
    corpus = copy_sample(workdir / "corpus", synthetic)
    index = workdir / "index"
    build_index(corpus, index)
    mix = query_mix(corpus, size=mix_size)
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


# -- the timed soak of `make bench`: mixed load for minutes, an `index update` every minute ----------


@dataclass
class Update:
    """One `index update` of the timed soak: when it started (s into the run), its exit code, output, time."""

    at: float
    code: int
    output: str
    seconds: float


@dataclass
class TimedSoak:
    samples: list[Sample]  # every answer; ``started`` is seconds into the run
    rss: list[tuple[float, dict[int, int]]]  # (seconds into the run, worker -> RSS in kB)
    updates: list[Update]
    workers: list[int]
    workers_after: list[int]
    churned: set[str]  # the urls of articles the updates add and remove (a 404 for them is right at times)

    @property
    def failed(self) -> list[Sample]:
        """5xx, connection errors, and a 404 for an article that is never removed."""
        return [s for s in self.samples if s.status == 0 or s.status >= 500
                or (s.status == 404 and s.kind in ("article", "json-article"))]

    def minutes(self) -> list[dict[str, float]]:
        """Per minute of the run: requests, failed, p50 and p99 (ms), and each worker's last RSS sample (MB)."""
        failed = {id(sample) for sample in self.failed}
        rows = []
        for minute in range(int(max((s.started for s in self.samples), default=0) // 60) + 1):
            inside = [s for s in self.samples if minute * 60 <= s.started < (minute + 1) * 60]
            times = [s.ms for s in inside]
            rss = [r for t, r in self.rss if t <= (minute + 1) * 60 + 1]
            row: dict[str, float] = {"minute": minute + 1, "requests": len(inside),
                                     "failed": sum(id(s) in failed for s in inside),
                                     "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1)}
            for n, pid in enumerate(self.workers):
                row[f"rss_{n + 1}_mb"] = round(rss[-1][pid] / 1024, 1) if rss and pid in rss[-1] else 0.0
            rows.append(row)
        return rows


def timed_soak(workdir: Path, *, minutes: float, concurrency: int = 8, synthetic: int = 400, semantic: bool = True,
               every: float = 60.0, sample_every: float = 30.0) -> TimedSoak:
    """Mixed load on 2 workers for ``minutes``; an `index update` (one article added, four edited, one removed) every ``every`` s.

    The load is :func:`~support.load.query_mix` (searches, result pages, article
    pages, the JSON API, completions, /embed) plus the pages of the articles the
    updates churn; each worker's RSS is read every ``sample_every`` s.
    """
    corpus = copy_sample(workdir / "corpus", synthetic)
    mix = query_mix(corpus, size=3000)
    (corpus / "churn").mkdir()
    index = workdir / "index"
    built = run_cli("index", "build", *([] if semantic else ["--no-semantic"]), "--corpus", str(corpus),
                    "--index", str(index), timeout=3600)
    if built.returncode:
        raise RuntimeError(f"index build failed: {built.stdout} {built.stderr}")
    churned = [f"/learn/churn/questions/soak-churn-{n}" for n in range(8)]
    rss: list[tuple[float, dict[int, int]]] = []
    updates: list[Update] = []
    stop = threading.Event()
    with start_server(index, log=workdir / "server.log", workers=2) as server:
        workers = server.worker_pids()
        start = time.monotonic()
        end = start + minutes * 60

        def next_target(seq: int) -> tuple[str, str]:
            if seq % 20 == 0:
                return "churn-page", churned[(seq // 20) % len(churned)]
            return mix[seq % len(mix)]

        def sampler() -> None:
            while not stop.is_set():
                rss.append((time.monotonic() - start, {pid: rss_kb(pid) for pid in server.worker_pids()}))
                stop.wait(sample_every)

        def updater() -> None:
            step = 0
            # On the clock (at every, 2 x every, ... s), not ``every`` after the last one ended.
            while not stop.wait(max(0.0, start + (step + 1) * every - time.monotonic())):
                step += 1
                _churn(corpus, step)
                began = time.monotonic()
                done = run_cli("index", "update", "--corpus", str(corpus), "--index", str(index))
                updates.append(Update(began - start, done.returncode, f"{done.stdout.strip()} {done.stderr.strip()}",
                                      time.monotonic() - began))

        threads = [threading.Thread(target=work, daemon=True) for work in (sampler, updater)]
        for thread in threads:
            thread.start()
        samples = run_load(server.port, next_target, total=1, concurrency=concurrency, max_seconds=minutes * 60 + 120,
                           keep_going=lambda: time.monotonic() < end, max_total=10**9, reconnect_every=50)
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
        rss.append((time.monotonic() - start, {pid: rss_kb(pid) for pid in server.worker_pids()}))
        workers_after = server.worker_pids()
    for sample in samples:
        sample.ended -= start
        sample.started -= start
    return TimedSoak(samples, rss, updates, workers, workers_after, set(churned))


def _churn(corpus: Path, step: int) -> None:
    """Update ``step``'s changes: of eight articles that cycle, one added, four edited, one removed."""
    folder = corpus / "churn"
    for n in range(8):
        phase = (step + n) % 8
        path = folder / f"soak-churn-{n}.md"
        if phase < 5:
            title = f"Why does the soak churn article {n} change?"
            path.write_text(article_text(slug=f"soak-churn-{n}", id=980_000 + n, subject="Churn", title=title,
                                         article_title=title, question=title, url=f"/learn/churn/questions/soak-churn-{n}",
                                         answer=f"Edit {step}: enzyme receptor tolerance and plasma dose, changed by update {step}."),
                            encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
