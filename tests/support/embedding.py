"""Semantic builds as real processes: a small corpus, its reference vectors, a build to interrupt, a Dask cluster.

Used by the resumable and cluster build tests and by tests/bench/cluster.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from indexer.index.store import IndexStore
from indexer.semantic.checkpoint import CHECKPOINT_DIR
from indexer.semantic.vectors import ArticleVectors
from support import ROOT
from support.corpora import write_synthetic
from support.ports import free_port
from support.processes import cli, ctrl_c_reaches_it, run_cli

__all__ = [
    "ARTICLES", "WORDS", "DaskCluster", "build_vectors", "checkpoint_files", "embedding_corpus", "live_vectors",
    "lowest_cosine", "reference_vectors", "start_build", "wait_for_chunks", "worker_counts",
]

#: A corpus whose embedding takes a few seconds on two loaded cores, in 8 chunks of 16.
ARTICLES = 128
WORDS = 40

_references: dict[str, ArticleVectors] = {}


def embedding_corpus(folder: Path, count: int = ARTICLES, words: int = WORDS) -> Path:
    """Synthetic articles at ``folder``; the first n of a larger call are the same n files."""
    write_synthetic(folder, count, words=words)
    return folder


def live_vectors(index: Path) -> ArticleVectors:
    """The article vectors of the live generation of ``index``."""
    store = IndexStore(index)
    vectors = ArticleVectors.load(store.root / store.require_pointer().dir)
    assert vectors is not None, f"{index} has no readable vectors"
    return vectors


def build_vectors(corpus: Path, index: Path, *options: str) -> tuple[ArticleVectors, str]:
    """Build ``corpus`` to its end in a subprocess; its vectors and what it printed."""
    done = run_cli("index", "build", "--corpus", str(corpus), "--index", str(index), *options)
    assert done.returncode == 0, done.stderr
    return live_vectors(index), done.stdout


def reference_vectors(folder: Path) -> ArticleVectors:
    """The vectors of one uninterrupted local build of :func:`embedding_corpus`, made once a session."""
    if "local" not in _references:
        _references["local"], _ = build_vectors(embedding_corpus(folder / "corpus"), folder / "index")
    return _references["local"]


def lowest_cosine(found: ArticleVectors, expected: ArticleVectors) -> float:
    """The least cosine between the two sets' vectors of one article; they must hold the same articles."""
    assert sorted(found.rows) == sorted(expected.rows), "the builds embedded other articles"
    digests = sorted(expected.rows)
    a = np.array([found.rows[d] for d in digests], dtype=np.float32)
    b = np.array([expected.rows[d] for d in digests], dtype=np.float32)
    cosines = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cosines.min())


def start_build(corpus: Path, index: Path, *options: str) -> subprocess.Popen[str]:
    """`index build` in its own session, with a terminal's SIGINT (a Ctrl-C reaches it), output piped."""
    return subprocess.Popen(
        [*cli(), "index", "build", "--corpus", str(corpus), "--index", str(index), *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        start_new_session=True, preexec_fn=ctrl_c_reaches_it,
    )


def checkpoint_files(index: Path) -> list[Path]:
    return sorted((index / CHECKPOINT_DIR).glob("*/chunk-*.npz"))


def wait_for_chunks(index: Path, count: int, process: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until the build's checkpoint holds ``count`` chunk files; fail if the build ends first."""
    deadline = time.monotonic() + timeout
    while len(checkpoint_files(index)) < count:
        assert process.poll() is None, f"the build ended before {count} chunk(s) were checkpointed: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {count} checkpointed chunk(s) after {timeout} s"
        time.sleep(0.01)


class DaskCluster:
    """A real `dask scheduler` and `dask worker` processes on loopback, each in its own process group."""

    def __init__(self, folder: Path, workers: int, timeout: float = 120) -> None:
        self.folder = folder
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, IO[Any]] = {}
        try:
            self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"])
            self._wait_for("scheduler", "Scheduler at:", timeout)
            for n in range(1, workers + 1):
                self._start_worker(f"w{n}")
            for n in range(1, workers + 1):
                self._wait_for(f"w{n}", "Registered to:", timeout)
        except BaseException:
            self.stop()
            raise

    def add_worker(self, name: str, env: dict[str, str] | None = None, timeout: float = 120) -> None:
        """One more worker (with ``env`` added to its environment), once it has registered."""
        self._start_worker(name, env)
        self._wait_for(name, "Registered to:", timeout)

    def _start_worker(self, name: str, env: dict[str, str] | None = None) -> None:
        self._start(name, [
            "worker", self.address, "--name", name, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
            "--no-dashboard", "--death-timeout", "60", "--local-directory", str(self.folder / name),
        ], env)

    def _start(self, name: str, arguments: list[str], env: dict[str, str] | None = None) -> None:
        self.logs[name] = open(self.folder / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(
            [str(Path(cli()[0]).with_name("dask")), *arguments], stdout=self.logs[name], stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True, env={**os.environ, **(env or {})},
        )

    def _wait_for(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in (self.folder / f"{name}.log").read_text(errors="replace"):
            assert self.processes[name].poll() is None, f"dask {name} ended: {self.log(name)[-2000:]}"
            assert time.monotonic() < deadline, f"dask {name} not ready after {timeout} s: {self.log(name)[-2000:]}"
            time.sleep(0.05)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL one member and its children (a worker's nanny and the worker), and reap it."""
        process = self.processes[name]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.kill(name)
        for log in self.logs.values():
            log.close()


def worker_counts(summary: str) -> dict[str, int]:
    """Articles each Dask worker embedded, from a build's summary."""
    found = re.search(r"on the Dask cluster at \S+ \(([^)]*)\)", summary)
    assert found, summary
    return {name: int(count) for name, count in (part.split() for part in found.group(1).split(", "))}
