"""Reliability under load, rebuilds and crashes: the machinery behind tests/test_reliability_*.py, and its long forms.

The tests import these functions with bounded sizes; run as a script, the
same runs go longer (``make bench`` can call it)::

    rebuild  the real server (2 gunicorn workers) under loopback load while an
             `index build` and two `index update`s run as real processes
    crash    kill -9 (the whole process group) `index build` at seeded random
             moments, on a small corpus and on one big enough for 2 writer
             processes, and `index update` mid-commit
    soak     a long realistic query mix on 2 workers: worker RSS and open
             files after warm-up and at the end

Every run returns its figures and a list of broken promises (``problems``);
the tests assert that list is empty, the script prints both. Example::

    .venv/bin/python tests/bench/reliability.py --requests 5000 --kills 20 --soak 30000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from indexer import IndexStore, SearchService, build_index, load_corpus

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CORPUS = ROOT / "corpus"
STARTUP_SECONDS = 30
#: How soon after a commit every worker must answer from the new generation.
SWITCH_SECONDS = 2.0
WORDS = (
    "enzyme receptor tolerance opioid liver kidney neuron plasma dose glucose insulin cortex membrane "
    "protein gene mutation inflation demand supply revolution empire treaty velocity energy entropy "
    "photon electron catalyst equilibrium acid buffer memory conditioning placebo vaccine antibody"
).split()


# -- processes --------------------------------------------------------------------


def cli() -> list[str]:
    """The installed `article-search` command (or the module, when the script is missing)."""
    script = Path(sys.executable).with_name("article-search")
    if script.exists():
        return [str(script)]
    found = shutil.which("article-search")
    return [found] if found else [sys.executable, "-c", "from webapp.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers, for its master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(word) for word in task.read_text().split()]
        except OSError:
            pass
    return sorted(set(found))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_targets(pid: int) -> list[str]:
    """What each open descriptor of ``pid`` points at (files, sockets, pipes)."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return sorted(targets)


class Server:
    """`article-search serve` (gunicorn) on a free loopback port, stopped on exit whatever happens."""

    def __init__(self, index: Path, log: Path, *, workers: int = 2, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        self.index, self.log_path, self.workers = index, log, workers
        self.env = {**os.environ, **(env or {})}
        self.command = command or cli()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers), "--index", str(self.index)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                status, _, _ = fetch(self.port, "/healthz")
                if status == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {STARTUP_SECONDS} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def fetch(port: int, target: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One GET on a fresh connection: status, headers (lower-case names), body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


# -- corpora ----------------------------------------------------------------------


def article_file(slug: str, article_id: int, title: str, answer: str, subject: str = "Testing",
                 keywords: str = "testing") -> str:
    """An article in the seed's format."""
    fields = {
        "id": article_id, "date": "2025-03-01", "title": title, "article_title": title,
        "seo": {"title": title, "page_description": title, "page_keywords": keywords},
        "author": "QuickTakes", "question": title, "answer": answer, "subject": subject,
        "file_name": f"{slug}.md", "url": f"/learn/{subject.lower()}/questions/{slug}", "score": -1.0,
    }
    return "---\n" + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000) + "---\n\n&nbsp;"


def write_synthetic(folder: Path, count: int, *, words: int = 120, seed: int = 1, first_id: int = 100_000) -> None:
    """``count`` small articles with varied words, in subject folders of 500."""
    rng = random.Random(seed)
    for n in range(count):
        sub = folder / f"part-{n // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        slug = f"synthetic-{n}"
        answer = " ".join(rng.choice(WORDS) for _ in range(words))
        title = f"Synthetic {n}: {rng.choice(WORDS)} and {rng.choice(WORDS)}"
        (sub / f"{slug}.md").write_text(
            article_file(slug, first_id + n, title, answer, keywords=f"{rng.choice(WORDS)}, {rng.choice(WORDS)}"),
            encoding="utf-8",
        )


def make_corpus(folder: Path, synthetic: int, **options: Any) -> Path:
    """The sample corpus plus ``synthetic`` generated articles."""
    shutil.copytree(SAMPLE_CORPUS, folder)
    if synthetic:
        write_synthetic(folder / "synthetic", synthetic, **options)
    return folder


def corpus_count(corpus: Path) -> int:
    return sum(1 for _ in corpus.rglob("*.md"))


# -- load -------------------------------------------------------------------------


@dataclass
class Sample:
    seq: int
    kind: str
    target: str
    started: float
    ended: float
    status: int  # 0: no answer (connection error or timeout)
    generation: int | None
    body: bytes = b""
    error: str = ""

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1000


def query_mix(corpus: Path, seed: int = 7, size: int = 1200) -> list[tuple[str, str]]:
    """A realistic mix of (kind, target): searches (words, phrases, typos, filters, pages), pages, completions."""
    scan = load_corpus(corpus)
    articles = sorted((item[0] if isinstance(item, tuple) else item for item in scan.articles), key=lambda article: article.id)
    rng = random.Random(seed)
    mix: list[tuple[str, str]] = []

    def words(article: Any) -> list[str]:
        return [word for word in re.findall(r"[a-z]+", article.title.lower()) if len(word) > 3] or ["drug"]

    def typo(word: str) -> str:
        cut = rng.randrange(1, len(word))
        return word[:cut] + word[cut + 1:]

    for _ in range(size):
        article = rng.choice(articles)
        picked = rng.sample(words(article), k=min(len(words(article)), rng.randint(1, 4)))
        roll = rng.random()
        if roll < 0.28:
            params: dict[str, Any] = {"q": " ".join(picked)}
            if rng.random() < 0.2:
                params["page"] = 2
            if rng.random() < 0.2:
                params["subject"] = article.subject
            if rng.random() < 0.2:
                params["per_page"] = rng.choice([5, 20, 50])
            mix.append(("api", "/api/search?" + urllib.parse.urlencode(params)))
        elif roll < 0.36:
            tricky = rng.choice([f'"{" ".join(picked[:2])}"', f"{picked[0]} OR {rng.choice(WORDS)}",
                                 f"{picked[0]} -{rng.choice(WORDS)}", f"{picked[0][:4]}*", typo(picked[0])])
            mix.append(("api", "/api/search?" + urllib.parse.urlencode({"q": tricky})))
        elif roll < 0.58:
            mix.append(("page", "/search?" + urllib.parse.urlencode({"q": " ".join(picked)})))
        elif roll < 0.78:
            query = f"?{urllib.parse.urlencode({'q': picked[0]})}" if rng.random() < 0.4 else ""
            mix.append(("article", article.url + query))
        elif roll < 0.88:
            mix.append(("suggest", "/api/suggest?" + urllib.parse.urlencode({"q": picked[0][: rng.randint(2, 5)]})))
        elif roll < 0.94:
            mix.append(("json-article", f"/api/articles/{article.id}"))
        elif roll < 0.98:
            mix.append(("embed", "/embed?" + urllib.parse.urlencode({"q": " ".join(picked)})))
        else:
            mix.append(("health", "/healthz"))
    return mix


def with_marker(target: str, seq: int) -> str:
    """Tag a request so the access log line (worker pid, generation) can be matched to it."""
    return f"{target}{'&' if '?' in target else '?'}rq={seq}"


def run_load(
    port: int,
    next_target: Callable[[int], tuple[str, str]],
    *,
    total: int,
    concurrency: int,
    max_seconds: float,
    keep_going: Callable[[], bool] = lambda: False,
    max_total: int | None = None,
    reconnect_every: int = 25,
    keep_body: Callable[[str], bool] = lambda kind: False,
) -> list[Sample]:
    """Send at least ``total`` requests from ``concurrency`` keep-alive clients (more while ``keep_going()``).

    Bounded twice: never more than ``max_total`` requests (default 4 x total)
    and never longer than ``max_seconds``. Clients reconnect every
    ``reconnect_every`` requests so every worker gets connections.
    """
    cap = max_total or 4 * total
    lock = threading.Lock()
    counter = iter(range(cap))
    samples: list[Sample] = []
    deadline = time.monotonic() + max_seconds

    def claim() -> int | None:
        with lock:
            seq = next(counter, None)
        if seq is None or time.monotonic() > deadline or (seq >= total and not keep_going()):
            return None
        return seq

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        mine: list[Sample] = []
        used = 0
        while (seq := claim()) is not None:
            kind, target = next_target(seq)
            target = with_marker(target, seq)
            if connection is None or used >= reconnect_every:
                if connection is not None:
                    connection.close()
                connection, used = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
            used += 1
            started = time.monotonic()
            try:
                connection.request("GET", target)
                response = connection.getresponse()
                body = response.read()
                header = response.getheader("X-Index-Generation")
                mine.append(Sample(seq, kind, target, started, time.monotonic(), response.status,
                                   int(header) if header else None, body if keep_body(kind) else b""))
            except (OSError, http.client.HTTPException) as error:
                mine.append(Sample(seq, kind, target, started, time.monotonic(), 0, None, error=repr(error)))
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + 60)
    return sorted(samples, key=lambda sample: sample.seq)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=1000, method="inclusive")[int(pct * 10) - 1]


_LOG_LINE = re.compile(r"[?&]rq=(\d+)[ &].* pid=<(\d+)> gen=(\S+)")


def served_by(log: str) -> dict[int, tuple[int, str]]:
    """seq -> (worker pid, generation) from the access log."""
    found: dict[int, tuple[int, str]] = {}
    for line in log.splitlines():
        match = _LOG_LINE.search(line)
        if match:
            found[int(match.group(1))] = (int(match.group(2)), match.group(3))
    return found


# -- 1. serving through rebuilds ---------------------------------------------------


@dataclass
class RebuildRun:
    samples: list[Sample]
    commits: list[tuple[int, float, str]]  # (generation, when CURRENT changed, what committed)
    workers: list[int]
    served: dict[int, tuple[int, str]]
    writer_outputs: list[str]
    problems: list[str] = field(default_factory=list)
    lags: list[dict[int, float]] = field(default_factory=list)  # per commit: worker -> last old answer after it (s)

    def figures(self) -> dict[str, Any]:
        times = [sample.ms for sample in self.samples]
        failed = [sample for sample in self.samples if sample.status == 0 or sample.status >= 500]
        return {
            "requests": len(self.samples), "failed": len(failed),
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
            "max_ms": round(max(times, default=0), 1), "commits": [c[0] for c in self.commits],
            "switch_lag_s": [{str(pid): round(lag, 2) for pid, lag in lags.items()} for lags in self.lags],
        }


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


def _probe_article(probe: Probe, n: int) -> str:
    return article_file(probe.slug, 970_000 + n, f"What is the {probe.word}?", f"The {probe.word} appears mid-run.")


def rebuild_run(workdir: Path, *, requests: int, concurrency: int = 16, synthetic: int = 800,
                pause: float = 3.0, max_seconds: float = 150) -> RebuildRun:
    """Load the real server while a build and two updates commit; check every promise of the run."""
    corpus = make_corpus(workdir / "corpus", synthetic)
    index = workdir / "index"
    build_index(corpus, index)
    mix = query_mix(corpus)
    commits: list[tuple[int, float, str]] = []
    labels = ["index build", "index update", "index update"]
    outputs: list[str] = []
    writers_done = threading.Event()
    watching = threading.Event()

    def watch_pointer() -> None:
        seen = store_generation(index)
        while not watching.is_set():
            generation = store_generation(index)
            if generation != seen:
                commits.append((generation, time.monotonic(), labels[len(commits)] if len(commits) < 3 else "?"))
                seen = generation
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
            time.sleep(1.0)
            (corpus / "testing").mkdir(exist_ok=True)
            steps = [
                ("build", lambda: _write_probe(corpus, 0)),
                ("update", lambda: _write_probe(corpus, 1)),
                ("update", lambda: (_write_probe(corpus, 2), _remove_probe(corpus, 1))),
            ]
            for command, prepare in steps:
                prepare()
                done = run_cli("index", command, "--corpus", str(corpus), "--index", str(index))
                outputs.append(f"{command}: exit {done.returncode}: {done.stdout.strip()} {done.stderr.strip()}")
                time.sleep(pause)
            time.sleep(pause)  # the last commit gets as long a window as the others
        finally:
            writers_done.set()

    with Server(index, workdir / "server.log") as server:
        workers = server.worker_pids()
        watcher = threading.Thread(target=watch_pointer, daemon=True)
        writer = threading.Thread(target=writers, daemon=True)
        watcher.start()
        writer.start()
        try:
            samples = run_load(server.port, next_target, total=requests, concurrency=concurrency,
                               max_seconds=max_seconds, keep_going=lambda: not writers_done.is_set(),
                               max_total=50 * requests, keep_body=lambda kind: kind.startswith("probe-search"))
            load_outlived_writers = writers_done.is_set()
        finally:
            writer.join(timeout=max_seconds)
            watching.set()
            watcher.join(timeout=5)
        time.sleep(0.3)  # let the last access log lines reach the file
        after = server.worker_pids()
        log = server.log()
    run = RebuildRun(samples, commits, workers, served_by(log), outputs)
    run.problems = _rebuild_problems(run, after)
    if not load_outlived_writers:
        run.problems.insert(0, f"the load stopped (after {len(samples)} requests) before the writers had finished")
    return run


def store_generation(index: Path) -> int:
    pointer = IndexStore(index).pointer()
    return pointer.generation if pointer else -1


def _write_probe(corpus: Path, n: int) -> None:
    probe = PROBES[n]
    (corpus / "testing" / f"{probe.slug}.md").write_text(_probe_article(probe, n), encoding="utf-8")


def _remove_probe(corpus: Path, n: int) -> None:
    (corpus / "testing" / f"{PROBES[n].slug}.md").unlink()


def _rebuild_problems(run: RebuildRun, workers_after: list[int]) -> list[str]:
    problems: list[str] = []
    if any(not line.split(": exit ")[1].startswith("0:") for line in run.writer_outputs) or len(run.writer_outputs) != 3:
        problems.append(f"a writer failed: {run.writer_outputs}")
    if len(run.commits) != 3:
        problems.append(f"expected 3 commits, saw {run.commits}")
    if sorted(workers_after) != sorted(run.workers):
        problems.append(f"workers changed during the run (a crash or timeout): {run.workers} -> {workers_after}")
    for sample in run.samples:
        if sample.status == 0 or sample.status >= 500:
            problems.append(f"failed request {sample.target}: {sample.status} {sample.error}")
        elif not sample.kind.startswith("probe:") and sample.status != 200:
            problems.append(f"unexpected {sample.status} for {sample.target}")
    problems += _switch_problems(run)
    return problems[:50]


def _state_after(sample: Sample, commits: list[tuple[int, float, str]]) -> int | None:
    """Index of the last commit ``sample`` must see (-1: none), or None when either answer is right.

    A commit must show within SWITCH_SECONDS; one that came after the answer
    must not show; one in between (or within the pointer watcher's 50 ms) may.
    """
    state = -1
    for n, (_, when, _) in enumerate(commits):
        if when + SWITCH_SECONDS <= sample.started:
            state = n
        elif when < sample.ended + 0.05:
            return None
        else:
            break
    return state


def _switch_problems(run: RebuildRun) -> list[str]:
    """Within 2 s of each commit every worker answers from the new generation (and the probe articles agree)."""
    problems: list[str] = []
    run.lags = [{} for _ in run.commits]
    for n, (generation, when, label) in enumerate(run.commits):
        end = run.commits[n + 1][1] if n + 1 < len(run.commits) else float("inf")
        window = [s for s in run.samples if when + SWITCH_SECONDS <= s.started < end]
        by_worker: dict[int, list[Sample]] = {}
        for sample in window:
            pid = run.served.get(sample.seq, (0, ""))[0]
            by_worker.setdefault(pid, []).append(sample)
        for pid in run.workers:
            if not by_worker.get(pid):
                problems.append(f"worker {pid} answered nothing between {SWITCH_SECONDS:g} s after commit {n} ({label}) and the next")
        for sample in window:
            if sample.generation is not None and sample.generation < generation:
                problems.append(f"{sample.target} answered from generation {sample.generation} "
                                f"{sample.started - when:.2f} s after generation {generation} committed ({label})")
        for sample in run.samples:
            if sample.started >= when and sample.generation is not None and sample.generation < generation:
                pid = run.served.get(sample.seq, (0, ""))[0]
                run.lags[n][pid] = max(run.lags[n].get(pid, 0.0), sample.started - when)
    for sample in run.samples:
        if not sample.kind.startswith("probe"):
            continue
        state = _state_after(sample, run.commits)
        probe = next(p for p in PROBES if sample.kind.endswith(p.slug))
        if state is None:
            continue  # in flight while a commit happened, or inside a switch window: old or new is fine
        present = probe.present_after(state)
        if sample.kind.startswith("probe:"):
            if sample.status != (200 if present else 404):
                problems.append(f"{probe.slug} answered {sample.status} in state {state} (present={present})")
        elif sample.status == 200:
            total = json.loads(sample.body)["total"]
            if total != (1 if present else 0):
                problems.append(f"search for {probe.word} found {total} in state {state} (present={present})")
    return problems


# -- 2. crash safety ----------------------------------------------------------------


@dataclass
class CrashRun:
    kills: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> int:
        return sum(1 for kill in self.kills if kill["ok"])


CRASH_QUERIES = ["opioid receptor", "insulin glucose", "entropy energy", "drug tolerance mechanisms", "synthetic"]


def answers(index: Path, service: SearchService | None = None) -> dict[str, Any]:
    """What the live index answers: document count and the top urls for a few queries."""
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


def kill_group_at(command: list[str], delay: float) -> tuple[int | None, int]:
    """Start ``command`` in its own session and SIGKILL its whole group after ``delay`` s.

    Returns the exit code if it finished first (else None) and how many
    processes the group had when it was killed (3 = the CLI and 2 writers).
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, cwd=ROOT)
    try:
        finished = process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        finished = None
    members = len(_group(process.pid))
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the writer's worker processes too
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 5
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group(process.pid):
        raise RuntimeError(f"processes of the killed group {process.pid} are still running: {_group(process.pid)}")
    return finished, members


def _group(leader: int) -> list[int]:
    """Live (not zombie) processes in process group ``leader``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same documents and match counts (tie order may differ between two builds by 2 processes)."""
    return a["documents"] == b["documents"] and all(a[query][0] == b[query][0] for query in CRASH_QUERIES)


def crash_builds(workdir: Path, name: str, synthetic: int, kills: int, rng: random.Random, run: CrashRun,
                 *, words: int = 120) -> None:
    """Kill `index build` ``kills`` times over a corpus of ``synthetic`` articles; check the index after each.

    While CURRENT names the same generation, a reader must answer exactly as
    before; a kill that came after the swap leaves a complete new generation
    of the same corpus (same documents and match counts), which becomes the
    reference from then on.
    """
    corpus = workdir / f"corpus-{name}"
    write_synthetic(corpus, synthetic, words=words)
    index = workdir / f"index-{name}"
    command = [*cli(), "index", "build", "--corpus", str(corpus), "--index", str(index)]
    started = time.monotonic()
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    duration = time.monotonic() - started
    if first.returncode != 0:
        run.problems.append(f"{name}: an uninterrupted build failed: {first.stderr}")
        return
    expected, generation = answers(index), store_generation(index)
    reference = expected
    long_lived = SearchService(index, refresh_seconds=0)
    for n in range(kills):
        delay = rng.uniform(0.02, 0.95) * duration  # a few land after the build has finished
        finished, members = kill_group_at(command, delay)
        kill: dict[str, Any] = {"corpus": name, "files": synthetic, "at_s": round(delay, 2),
                                "finished_first": finished is not None, "processes": members}
        problems = []
        try:
            now = store_generation(index)
            fresh, kept = answers(index), answers(index, long_lived)
            if now == generation and (fresh != expected or kept != expected):
                problems.append("the live generation is the same but its answers changed")
            elif now != generation:
                kill["swapped"] = True  # the build had published before the kill
                if not (_same_content(fresh, reference) and fresh == kept):
                    problems.append("the new generation is not the corpus")
                expected, generation = fresh, now
        except Exception as error:  # noqa: BLE001 - any failure to answer is the finding
            problems.append(f"the live index failed to answer: {error!r}")
        kill["ok"] = not problems
        kill["leftovers"] = sorted(path.name for path in index.iterdir() if path.name.startswith(("tmp-", ".CURRENT")))
        run.kills.append(kill)
        run.problems += [f"{name} kill {n} at {delay:.2f} s: {problem}" for problem in problems]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        run.problems.append(f"{name}: the build after the kills failed: {done.stderr.strip()}")
    if list(index.glob("tmp-*")):
        run.problems.append(f"{name}: the build after the kills left tmp-* folders")
    final = answers(index)
    if not _same_content(final, reference) or answers(index, long_lived) != final:
        run.problems.append(f"{name}: after the final build the answers differ")
    long_lived.close()


def crash_updates(workdir: Path, kills: int, rng: random.Random, run: CrashRun, *, synthetic: int = 2100,
                  edits: int = 300) -> None:
    """Kill `index update` mid-commit (a merging update of ``edits`` files); the index stays whole."""
    corpus = workdir / "corpus-update"
    write_synthetic(corpus, synthetic)
    index = workdir / "index-update"
    build_index(corpus, index)
    long_lived = SearchService(index, refresh_seconds=0)
    long_lived.search("synthetic")
    files = sorted(corpus.rglob("*.md"))[:edits]
    for path in files:
        path.write_text(path.read_text("utf-8").replace("answer: ", "answer: zanzibarmark ", 1), "utf-8")
    command = [*cli(), "index", "update", "--corpus", str(corpus), "--index", str(index)]
    rehearsal = workdir / "index-update-rehearsal"
    shutil.copytree(index, rehearsal)
    started = time.monotonic()
    subprocess.run([*command[:-1], str(rehearsal)], capture_output=True, check=True, cwd=ROOT)
    duration = time.monotonic() - started
    shutil.rmtree(rehearsal)
    count = corpus_count(corpus)
    for n in range(kills):
        delay = rng.uniform(0.5, 1.0) * duration  # the commit (and its merge) is the second half
        finished, _ = kill_group_at(command, delay)
        kill: dict[str, Any] = {"corpus": "update", "files": synthetic, "at_s": round(delay, 2), "finished_first": finished is not None}
        problems = []
        try:
            with SearchService(index, refresh_seconds=0) as fresh:
                marked = fresh.search("zanzibarmark").total
                documents = fresh.stats()["documents"]
            if marked not in (0, edits):
                problems.append(f"half an update is visible: {marked} of {edits} edits")
            if documents != count:
                problems.append(f"{documents} documents, the corpus has {count}")
        except Exception as error:  # noqa: BLE001
            problems.append(f"the live index failed to answer: {error!r}")
        kill["ok"] = not problems
        run.kills.append(kill)
        run.problems += [f"update kill {n} at {delay:.2f} s: {problem}" for problem in problems]
        if finished is not None:
            break  # the update completed before the kill: nothing left to interrupt
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        run.problems.append(f"the update after the kills failed: {done.stderr.strip()}")
    if long_lived.search("zanzibarmark").total != edits:
        run.problems.append("a reader open since before the killed updates never sees the edits")
    with SearchService(index) as fresh:
        if fresh.search("zanzibarmark").total != edits or fresh.stats()["documents"] != count:
            run.problems.append("after the next update the index is not the corpus")
    long_lived.close()


def crash_run(workdir: Path, *, small_kills: int, big_kills: int, update_kills: int, seed: int = 20261127,
              small: int = 600, big: int = 2100) -> CrashRun:
    rng = random.Random(seed)
    run = CrashRun()
    if small_kills:
        crash_builds(workdir, "small", small, small_kills, rng, run, words=300)
    if big_kills:
        crash_builds(workdir, "big", big, big_kills, rng, run)
    if update_kills:
        crash_updates(workdir, update_kills, rng, run, synthetic=big)
    return run


# -- 3. soak ---------------------------------------------------------------------------


@dataclass
class SoakRun:
    requests: int
    failed: int
    p50_ms: float
    p99_ms: float
    rss_kb: dict[int, tuple[int, int, int]]  # worker -> after warm-up, half-way, at the end
    files: dict[int, tuple[int, int, int]]
    workers_after: list[int]
    problems: list[str] = field(default_factory=list)


def settle(pids: list[int], seconds: float = 1.0) -> None:
    """Wait until the workers' open-file counts stop changing (clients have hung up)."""
    deadline = time.monotonic() + 10
    last = [open_files(pid) for pid in pids]
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = [open_files(pid) for pid in pids]
        if now == last:
            return
        last = now


#: Descriptors a worker may still open after warm-up: each of its threads opens a
#: segment's column files the first time a query needs them (bounded, not a leak).
#: Anything else new (a socket, a pipe, a deleted or an old generation's file) is a leak.
LAZY_FILES = 8


def soak_run(workdir: Path, *, requests: int, warmup: int, concurrency: int = 16, synthetic: int = 400,
             max_seconds: float = 900, growth: float = 0.10) -> SoakRun:
    """Warm up, then send ``requests`` in two halves, measuring every worker's RSS and open files between.

    Broken promises: a failed request, a replaced worker, RSS growing by
    ``growth`` or more after warm-up, any new descriptor that is not a file
    of the live index, or more than LAZY_FILES of those.
    """
    corpus = make_corpus(workdir / "corpus", synthetic)
    index = workdir / "index"
    build_index(corpus, index)
    mix = query_mix(corpus, size=1500)
    samples: list[Sample] = []
    points: list[dict[int, tuple[int, int, list[str]]]] = []
    with Server(index, workdir / "server.log") as server:
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
            points.append({pid: (rss_kb(pid), open_files(pid), file_targets(pid)) for pid in workers})
        workers_after = server.worker_pids()
    times = [sample.ms for sample in samples]
    failed = [sample for sample in samples if sample.status != 200]
    run = SoakRun(len(samples), len(failed), round(percentile(times, 50), 1), round(percentile(times, 99), 1),
                  {pid: tuple(point[pid][0] for point in points) for pid in workers},  # type: ignore[misc]
                  {pid: tuple(point[pid][1] for point in points) for pid in workers},  # type: ignore[misc]
                  workers_after)
    if len(samples) < requests:
        run.problems.append(f"only {len(samples)} of {requests} requests were sent in {max_seconds} s")
    run.problems += [f"{sample.target}: {sample.status} {sample.error}" for sample in failed[:10]]
    if sorted(workers_after) != sorted(workers):
        run.problems.append(f"workers were replaced (a crash or timeout): {workers} -> {workers_after}")
    live = str(index / (IndexStore(index).require_pointer().dir)) + "/"
    for pid in workers:
        rss, files = run.rss_kb[pid], run.files[pid]
        new = Counter(points[2][pid][2]) - Counter(points[0][pid][2])
        if rss[2] > rss[0] * (1 + growth):
            run.problems.append(f"worker {pid} RSS grew {rss[0]} -> {rss[2]} kB (over {growth:.0%})")
        strays = sorted(target for target in new if not target.startswith(live) or target.endswith("(deleted)"))
        if strays or sum(new.values()) > LAZY_FILES:
            run.problems.append(f"worker {pid} open files grew {files}: {sorted(new.elements())}")
    return run


# -- the script ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests during the rebuild run")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 moments for builds")
    parser.add_argument("--update-kills", type=int, default=5, help="kill -9 moments for an update mid-commit")
    parser.add_argument("--soak", type=int, default=30000, help="requests in the soak, after warm-up")
    parser.add_argument("--only", choices=["rebuild", "crash", "soak"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["rebuild", "crash", "soak"])
    failed = False
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        work = Path(tmp)
        if "rebuild" in only:
            (work / "rebuild").mkdir()
            rebuild = rebuild_run(work / "rebuild", requests=args.requests, synthetic=2000, max_seconds=600)
            print("rebuild:", json.dumps(rebuild.figures()))
            failed |= _report(rebuild.problems)
        if "crash" in only:
            (work / "crash").mkdir()
            small = args.kills // 2
            crash = crash_run(work / "crash", small_kills=small, big_kills=args.kills - small, update_kills=args.update_kills)
            builds = [kill for kill in crash.kills if kill["corpus"] != "update"]
            print(f"crash: builds survived {sum(k['ok'] for k in builds)}/{len(builds)} kills "
                  f"({sum(k['finished_first'] for k in builds)} finished before their kill); updates survived "
                  f"{sum(k['ok'] for k in crash.kills if k['corpus'] == 'update')}/{len(crash.kills) - len(builds)}")
            failed |= _report(crash.problems)
        if "soak" in only:
            (work / "soak").mkdir()
            soak = soak_run(work / "soak", requests=args.soak, warmup=max(2000, args.soak // 10), synthetic=2000)
            print(f"soak: {soak.requests} requests, {soak.failed} failed, p50 {soak.p50_ms} ms, p99 {soak.p99_ms} ms")
            for pid in soak.rss_kb:
                print(f"  worker {pid}: RSS after warm-up, half-way, end {soak.rss_kb[pid]} kB; "
                      f"open files {soak.files[pid]}")
            failed |= _report(soak.problems)
    sys.exit(1 if failed else 0)


def _report(problems: list[str]) -> bool:
    for problem in problems:
        print("  PROBLEM:", problem)
    return bool(problems)


if __name__ == "__main__":
    main()
