"""Articles embedded per second: here (one forked process per core), on a 1-worker and a 2-worker Dask cluster.

The three runs embed the same generated articles in one invocation, through
the build's own code (:func:`indexer.semantic.embedding.embed_all`, with its
checkpointing), each into an empty checkpoint. The clusters are real `dask
scheduler` and `dask worker` processes (one thread each) on loopback, so on
one machine they show the overhead of going through Dask, not a cluster's
capacity. Beside them, the compute floor: the model's multiply-adds for the
tokens embedded over the float32 matrix-multiply rate numpy measures here.
Not collected by pytest. Example::

    .venv/bin/python tests/bench/cluster.py --size 600
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import generate  # noqa: E402
import numpy as np  # noqa: E402
from support.embedding import DaskCluster  # noqa: E402

from indexer.corpus.files import read_all, scan_files  # noqa: E402
from indexer.index.documents import document_for  # noqa: E402
from indexer.semantic.cluster import Cluster  # noqa: E402
from indexer.semantic.embedding import embed_all  # noqa: E402
from indexer.semantic.model import embedding_text, find_model, load_encoder  # noqa: E402


def texts_of(corpus: Path) -> dict[str, str]:
    """Content hash -> the text a build embeds, for every article of ``corpus``."""
    texts = {}
    for item in read_all(scan_files(corpus).files):
        if isinstance(item, tuple):
            article, digest = item
            texts[digest] = embedding_text(article.title, article.question, document_for(article, digest)["answer"])
    return texts


def multiply_adds(texts: list[str]) -> tuple[int, int]:
    """(tokens, the model's multiply-adds for them): the layers' matrices per token, attention per pair of tokens."""
    encoder = load_encoder()
    config = json.loads((find_model() / "config.json").read_text())  # type: ignore[operator]
    d, ffn, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    lengths = np.array([len(e.ids) for e in encoder.tokenizer.encode_batch(texts)], dtype=np.int64)
    per_token = layers * (4 * d * d + 2 * d * ffn)  # query, key, value, output; the two feed-forward matrices
    attention = layers * 2 * d * int((lengths**2).sum())  # scores and weighted values
    return int(lengths.sum()), int(lengths.sum()) * per_token + attention


def matmul_rate(seconds: float = 2.0) -> float:
    """Multiply-adds a second of one BLAS thread, on the model's own shape (a batch of rows times 384 x 1536)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((2048, 384), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((384, 1536), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        a @ b
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            a @ b
            runs += 1
        elapsed = time.perf_counter() - started
    return runs * a.shape[0] * a.shape[1] * b.shape[1] / elapsed


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=600, help="generated articles to embed in each run")
    parser.add_argument("--workdir", type=Path, default=HERE.parents[1] / ".cache" / "bench")
    args = parser.parse_args()
    corpus = generate.cached_corpus(args.size, args.workdir)
    texts = texts_of(corpus)
    cores = os.cpu_count() or 1
    tokens, macs = multiply_adds(list(texts.values()))
    rate = matmul_rate()
    runs: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        runs.append(("here, forked processes", cores, timed(lambda: embed_all(texts, None, root / "local"))))
        for workers in (1, 2):
            folder = root / f"dask-{workers}"
            folder.mkdir()
            dask = DaskCluster(folder, workers)
            try:
                cluster = Cluster(dask.address)
                try:
                    runs.append((f"Dask, {workers} worker(s) x 1 thread", workers, timed(lambda: embed_all(texts, None, folder, cluster=cluster))))
                finally:
                    cluster.close()
            finally:
                dask.stop()
    floor = macs / rate  # seconds on one core
    print(f"{len(texts)} articles, {tokens} tokens ({tokens / len(texts):.0f} a text), {macs / 1e9:.1f} G multiply-adds; "
          f"numpy float32 matmul {rate / 1e9:.1f} G multiply-adds/s a core; load average {os.getloadavg()[0]:.1f}; "
          f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, numpy {np.__version__}")
    print("| where | cores | seconds | articles/s | articles/s a core | floor, articles/s a core | of the floor |")
    print("|---|---|---|---|---|---|---|")
    for where, used, seconds in runs:
        per_core = len(texts) / seconds / used
        print(f"| {where} | {used} | {seconds:.1f} | {len(texts) / seconds:.1f} | {per_core:.1f} | {len(texts) / floor:.1f} | "
              f"{per_core / (len(texts) / floor):.0%} |")


if __name__ == "__main__":
    main()
