"""Serving through rebuilds: the real server under loopback load while `index build` and two `index update`s commit.

:func:`rebuild_run` records what happened (every request and its answer,
when CURRENT moved, which worker answered what, the writers' output); it
judges nothing. tests/test_reliability_rebuild.py asserts the promises;
tests/bench/reliability.py prints the figures of a longer run.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import IndexStore, build_index
from support.corpora import article_text, copy_sample
from support.load import Sample, percentile, query_mix, run_load, served_by
from support.processes import run_cli
from support.servers import start_server

__all__ = ["Probe", "PROBES", "RebuildRun", "rebuild_run", "store_generation"]

WRITERS = ["index build", "index update", "index update"]


@dataclass
class Probe:
    """An article added (and maybe later removed) mid-run, requested throughout."""

    slug: str
    word: str
    added_by: int  # index of the commit that adds it
    removed_by: int | None = None

    @property
    def url(self) -> str:
        return f"/learn/testing/questions/{self.slug}"

    def present_after(self, commit: int) -> bool:
        return commit >= self.added_by and (self.removed_by is None or commit < self.removed_by)


PROBES = [
    Probe("rebuild-probe-alpha", "quokkalpha", 0),
    Probe("rebuild-probe-beta", "quokkabeta", 1, removed_by=2),
    Probe("rebuild-probe-gamma", "quokkagamma", 2),
]


@dataclass
class RebuildRun:
    samples: list[Sample]
    commits: list[tuple[int, float, str]]  # (generation, when the change to CURRENT was seen, what committed)
    workers: list[int]
    workers_after: list[int]
    served: dict[int, tuple[int, str]]  # seq -> (worker pid, generation) from the access log
    writer_outputs: list[tuple[str, int, str]]  # (command, exit code, output)
    load_outlived_writers: bool
    earliest: list[float] = field(default_factory=list)  # per commit: the last time CURRENT was seen before it
    lags: list[dict[int, float]] = field(default_factory=list)  # per commit: worker -> last old answer after it (s)

    def worker_of(self, sample: Sample) -> int:
        return self.served.get(sample.seq, (0, ""))[0]

    def figures(self) -> dict[str, Any]:
        times = [sample.ms for sample in self.samples]
        failed = [sample for sample in self.samples if sample.status == 0 or sample.status >= 500]
        return {
            "requests": len(self.samples), "failed": len(failed),
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            "max_ms": round(max(times, default=0), 1), "commits": [c[0] for c in self.commits],
            "switch_lag_s": [{str(pid): round(lag, 2) for pid, lag in lags.items()} for lags in self.lags],
        }


def rebuild_run(workdir: Path, *, requests: int, concurrency: int = 16, synthetic: int = 800,
                pause: float = 3.0, max_seconds: float = 150) -> RebuildRun:
    """Load the real server (2 workers) while a build and two updates commit; record every answer."""
    corpus = copy_sample(workdir / "corpus", synthetic)
    index = workdir / "index"
    build_index(corpus, index)
    mix = query_mix(corpus)
    commits: list[tuple[int, float, str]] = []
    earliest: list[float] = []  # per commit: CURRENT still read the old generation at this time
    outputs: list[tuple[str, int, str]] = []
    writers_done, watching = threading.Event(), threading.Event()

    def watch_pointer() -> None:
        # A starved thread notices a change late: each commit is bounded by the poll that first saw it
        # (when) and the one before, which still read the old pointer (earliest).
        last_look = time.monotonic()
        seen = store_generation(index)
        while not watching.is_set():
            look = time.monotonic()
            generation = store_generation(index)
            if generation != seen:
                commits.append((generation, time.monotonic(), WRITERS[len(commits)] if len(commits) < 3 else "?"))
                earliest.append(last_look)
                seen = generation
            last_look = look
            time.sleep(0.005)

    def next_target(seq: int) -> tuple[str, str]:
        if seq % 8 == 0:  # one request in 8 asks for an article that appears (or goes) mid-run
            probe = PROBES[(seq // 8) % len(PROBES)]
            if (seq // 8) % 2:
                return f"probe-search:{probe.slug}", "/api/search?" + urllib.parse.urlencode({"q": probe.word})
            return f"probe:{probe.slug}", probe.url
        return mix[seq % len(mix)]

    def writers() -> None:
        try:
            time.sleep(1.0)  # load first, so the first commit lands under it
            (corpus / "testing").mkdir(exist_ok=True)
            steps = [("build", [0], []), ("update", [1], []), ("update", [2], [1])]
            for command, added, removed in steps:
                for n in added:
                    (corpus / "testing" / f"{PROBES[n].slug}.md").write_text(_probe_article(n), encoding="utf-8")
                for n in removed:
                    (corpus / "testing" / f"{PROBES[n].slug}.md").unlink()
                done = run_cli("index", command, "--no-semantic", "--corpus", str(corpus), "--index", str(index))
                outputs.append((command, done.returncode, f"{done.stdout.strip()} {done.stderr.strip()}"))
                time.sleep(pause)
            time.sleep(pause)  # the last commit gets as long a window as the others
        finally:
            writers_done.set()

    with start_server(index, log=workdir / "server.log", workers=2) as server:
        workers = server.worker_pids()
        watcher = threading.Thread(target=watch_pointer, daemon=True)
        writer = threading.Thread(target=writers, daemon=True)
        watcher.start()
        writer.start()
        try:
            samples = run_load(server.port, next_target, total=requests, concurrency=concurrency,
                               max_seconds=max_seconds, keep_going=lambda: not writers_done.is_set(),
                               max_total=50 * requests, keep_body=lambda kind: kind.startswith("probe-search"))
            outlived = writers_done.is_set()
        finally:
            writer.join(timeout=max_seconds)
            watching.set()
            watcher.join(timeout=5)
        # The access log is written by the workers; wait (bounded) until it names the last request answered.
        last = max((sample.seq for sample in samples if sample.status), default=None)
        deadline = time.monotonic() + 5
        while last is not None and last not in served_by(server.log()) and time.monotonic() < deadline:
            time.sleep(0.05)
        after, log = server.worker_pids(), server.log()
    run = RebuildRun(samples, commits, workers, after, served_by(log), outputs, outlived, earliest)
    run.lags = _switch_lags(run)
    return run


def store_generation(index: Path) -> int:
    """The generation CURRENT names (-1: none yet)."""
    pointer = IndexStore(index).pointer()
    return pointer.generation if pointer else -1


def _probe_article(n: int) -> str:
    probe = PROBES[n]
    return article_text(slug=probe.slug, id=970_000 + n, title=f"What is the {probe.word}?",
                        article_title=f"What is the {probe.word}?", question=f"What is the {probe.word}?",
                        answer=f"The {probe.word} appears mid-run.")


def _switch_lags(run: RebuildRun) -> list[dict[int, float]]:
    """Per commit: for each worker, how long after it that worker last answered from an older generation."""
    lags: list[dict[int, float]] = [{} for _ in run.commits]
    for n, (generation, when, _) in enumerate(run.commits):
        for sample in run.samples:
            if sample.started >= when and sample.generation is not None and sample.generation < generation:
                pid = run.worker_of(sample)
                lags[n][pid] = max(lags[n].get(pid, 0.0), sample.started - when)
    return lags
