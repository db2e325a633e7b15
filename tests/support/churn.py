"""Churn: six articles added, edited and deleted by 29 `index update`s and one `index build` under load.

The set-up of issue 16: about 210 articles served by `article-search serve
--workers 2`; 16 loopback clients ask for searches, result pages and the pages
of six articles that come and go, while the writers run 0.2 s apart, each
after one change to the corpus (every step adds one of the six, edits others
and deletes one). :func:`churn_run` records every answer and which of the six
each committed generation holds; :attr:`ChurnRun.failed` names the requests
that failed by the issue's rule. The test is tests/test_reliability_churn.py.

Everything runs through the command (``command``, `article-search` by
default), never this checkout's library, so the same run can be pointed at
another checkout's code (tests/bench/churn_old.py does, to show it catches
the old race).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from support import ROOT
from support.corpora import article_text, copy_sample
from support.load import Sample, percentile, query_mix, run_load
from support.processes import cli
from support.rebuilds import store_generation
from support.servers import start_server

__all__ = ["CHURNED", "STEPS", "BUILD_STEP", "Step", "ChurnRun", "churn_run", "present_at"]

#: How many of the articles come and go, how many writer runs, which of them is the full build.
CHURNED = 6
STEPS = 30
BUILD_STEP = 15
PAUSE = 0.2
#: An article's life, one phase a step: added, edited, edited again, deleted, absent.
CYCLE = 5


def present_at(step: int, n: int) -> bool:
    """Whether churned article ``n`` is in the corpus after writer step ``step`` (-1: the first build)."""
    return (step + n) % CYCLE < 3


def version_at(step: int, n: int) -> int:
    """Which edit of article ``n`` the corpus holds after ``step`` (0: as added)."""
    return (step + n) % CYCLE


def slug(n: int) -> str:
    return f"churn-article-{n}"


def word(n: int) -> str:
    return f"wombatchurn{'abcdef'[n]}"


def url(n: int) -> str:
    return f"/learn/testing/questions/{slug(n)}"


@dataclass
class Step:
    """One writer run: what it was, how it ended, the generation CURRENT named after it, the six it holds."""

    command: str
    code: int
    output: str
    generation: int
    present: frozenset[int]
    started: float
    ended: float


@dataclass
class ChurnRun:
    samples: list[Sample]
    steps: list[Step]  # the first build (before the load) first
    workers: list[int]
    workers_after: list[int]
    load_outlived_writers: bool
    seconds: float
    holds: dict[int, frozenset[int]] = field(default_factory=dict)  # generation -> which of the six it holds

    @property
    def failed(self) -> list[str]:
        """The issue's failed requests: any 5xx or connection error, and an article page answering 404
        when the article is in the generation that answered and in the one after it.

        The one after, because a thread's searcher is labelled with the generation CURRENT
        named when it opened, and an update's segments can be in the folder a moment before
        CURRENT names them: an article that update deleted may 404 under the old label.
        """
        order = sorted(self.holds)
        failed = []
        for sample in self.samples:
            kind = sample.kind.split(":")
            if sample.status == 0 or sample.status >= 500:
                failed.append(f"{sample.target}: {sample.status or sample.error}")
            elif sample.status != 404 or kind[0] not in ("churn-page", "article", "json-article"):
                continue
            elif sample.generation not in self.holds:
                failed.append(f"{sample.target}: 404 from generation {sample.generation}, which no writer committed")
            elif kind[0] != "churn-page":
                failed.append(f"{sample.target}: 404 from generation {sample.generation}")
            else:
                after = order[order.index(sample.generation) + 1:][:1]
                if all(int(kind[1]) in self.holds[g] for g in [sample.generation, *after]):
                    failed.append(f"{sample.target}: 404 from generation {sample.generation}, which holds it, "
                                  f"as does the next ({after})")
        return failed

    def figures(self) -> dict[str, object]:
        times = [sample.ms for sample in self.samples]
        kinds: dict[str, int] = {}
        for sample in self.samples:
            kinds[sample.kind.split(":")[0]] = kinds.get(sample.kind.split(":")[0], 0) + 1
        return {
            "requests": len(self.samples), "failed": len(self.failed), "seconds": round(self.seconds, 1),
            "kinds": kinds, "404_while_deleted": sum(1 for s in self.samples if s.kind.startswith("churn-page") and s.status == 404),
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            "generations": [step.generation for step in self.steps],
            "writer_seconds": round(sum(step.ended - step.started for step in self.steps[1:]), 1),
        }


def churn_run(workdir: Path, *, synthetic: int = 150, concurrency: int = 16, max_seconds: float = 90,
              command: list[str] | None = None, env: dict[str, str] | None = None) -> ChurnRun:
    """Serve ~210 articles on 2 workers, churn six of them through 30 writer runs under load; record it all."""
    command = command or cli()
    corpus = copy_sample(workdir / "corpus", synthetic)
    mix = query_mix(corpus)  # the articles that stay (the six are asked for by next_target)
    (corpus / "testing").mkdir()
    index = workdir / "index"
    _write_churned(corpus, -1)
    steps = [_writer(command, env, "build", corpus, index, -1)]
    if steps[0].code != 0:
        raise RuntimeError(f"the first build failed: {steps[0].output}")
    writers_done = threading.Event()

    def next_target(seq: int) -> tuple[str, str]:
        n = (seq // 3) % CHURNED
        if seq % 3 == 0:  # one request in three is a page of one of the six
            return f"churn-page:{n}", url(n) + ("?" + urllib.parse.urlencode({"q": word(n)}) if seq % 2 else "")
        if seq % 6 == 1:  # and one in six a search for one, the JSON answer or the results page
            path = "/api/search" if seq % 4 == 1 else "/search"
            return f"churn-search:{n}", f"{path}?" + urllib.parse.urlencode({"q": f"{word(n)} edit"})
        return mix[seq % len(mix)]

    def writers() -> None:
        try:
            time.sleep(0.5)  # the load first, so the first commit lands under it
            for step in range(STEPS):
                _write_churned(corpus, step)
                steps.append(_writer(command, env, "build" if step == BUILD_STEP else "update", corpus, index, step))
                time.sleep(PAUSE)
        finally:
            writers_done.set()

    started = time.monotonic()
    with start_server(index, log=workdir / "server.log", workers=2, command=command, env=env) as server:
        workers = server.worker_pids()
        writer = threading.Thread(target=writers, daemon=True)
        writer.start()
        try:
            samples = run_load(server.port, next_target, total=16 * concurrency, concurrency=concurrency,
                               max_seconds=max_seconds, keep_going=lambda: not writers_done.is_set(),
                               max_total=1_000_000)
            outlived = writers_done.is_set()
        finally:
            writer.join(timeout=max_seconds)
        after = server.worker_pids()
    run = ChurnRun(samples, steps, workers, after, outlived, time.monotonic() - started)
    for step in (step for step in steps if step.code == 0):
        if run.holds.setdefault(step.generation, step.present) != step.present:
            raise RuntimeError(f"generation {step.generation} was committed twice with different articles: {steps}")
    return run


def _write_churned(corpus: Path, step: int) -> None:
    """Bring the six articles to their state after ``step``: add, edit or delete each file."""
    for n in range(CHURNED):
        path = corpus / "testing" / f"{slug(n)}.md"
        if not present_at(step, n):
            path.unlink(missing_ok=True)
            continue
        version = version_at(step, n)
        title = f"What is the {word(n)}?"
        path.write_text(article_text(slug=slug(n), id=960_000 + n, title=title, article_title=title, question=title,
                                     answer=f"The {word(n)} comes and goes; edit {version} of step {step}."),
                        encoding="utf-8")


def _writer(command: list[str], env: dict[str, str] | None, verb: str, corpus: Path, index: Path, step: int) -> Step:
    started = time.monotonic()
    # By words alone: the build says so and the updates keep the index's choice.
    words = ["--no-semantic"] if verb == "build" else []
    done = subprocess.run([*command, "index", verb, *words, "--corpus", str(corpus), "--index", str(index)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})
    present = frozenset(n for n in range(CHURNED) if present_at(step, n))
    return Step(verb, done.returncode, f"{done.stdout.strip()} {done.stderr.strip()}"[-2000:], store_generation(index),
                present, started, time.monotonic())
