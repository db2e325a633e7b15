"""A worker's memory and speed when it ranks by meaning, at 100,000 articles, beside words alone.

Embedding 100,000 articles takes hours on two cores, so the twin index ranking
by meaning gets random unit vectors (one per content hash, float16 as a build
writes them), their graph of nearest neighbours, and a query encoder fitted to
a sample of its articles: what a worker holds and scans is the same as with
real vectors, though what it ranks is not. (Random vectors are the graph's
worst case: no article is much nearer a query than the rest, so a search
visits more of them than it would among real vectors.) Both indexes are served by `article-search serve --workers 2` in turn,
with the same new queries.

Example::

    .venv/bin/python tests/bench/semantic_memory.py --size 100000 --out tests/bench/results-semantic-100k.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # bench/ and tests/

import generate  # noqa: E402
import load  # noqa: E402
from run import CLI, machine, timed_process, worker_rss_mb  # noqa: E402

from indexer import IndexStore  # noqa: E402
from indexer.corpus.rendering import plain_text  # noqa: E402
from indexer.index.schema import unpack_article  # noqa: E402
from indexer.semantic.fitting import fit_and_save_query_encoder  # noqa: E402
from indexer.semantic.model import embedding_text, load_encoder  # noqa: E402
from indexer.semantic.neighbours import write_neighbours  # noqa: E402
from indexer.semantic.query_encoder import PIECES_CACHE_FILE  # noqa: E402
from indexer.semantic.vectors import ArticleVectors  # noqa: E402
from support import ROOT  # noqa: E402
from support.servers import start_server  # noqa: E402


def words_index(corpus: Path, workdir: Path, size: int) -> tuple[Path, float]:
    index = workdir / f"index-{size}-words"
    shutil.rmtree(index, ignore_errors=True)
    seconds, _ = timed_process([CLI, "index", "build", "--no-semantic", "--corpus", str(corpus), "--index", str(index)])
    return index, seconds


def semantic_twin(index: Path, workdir: Path, fit_sample: int) -> Path:
    """A copy of ``index`` with random article vectors and a query encoder fitted to ``fit_sample`` of them."""
    import numpy as np
    from whoosh import index as whoosh_index

    twin = workdir / f"{index.name}-meaning"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(index, twin)
    folder = twin / IndexStore(twin).require_pointer().dir
    encoder = load_encoder()
    rng = np.random.default_rng(5)
    texts: dict[str, str] = {}
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        hashes = reader.column_reader("content_hash")
        digests = sorted({hashes[docnum] for docnum in reader.all_doc_ids()})
        sample = set(random.Random(5).sample(digests, min(fit_sample, len(digests))))
        for docnum, fields in reader.iter_docs():
            if hashes[docnum] in sample:
                data = unpack_article(fields)
                texts[hashes[docnum]] = embedding_text(data.get("title", ""), data.get("question", ""), plain_text(data.get("answer", "")))
    matrix = rng.standard_normal((len(digests), encoder.dimensions)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vectors = ArticleVectors(encoder.name, dict(zip(digests, matrix.astype(np.float16))))
    vectors.save(folder)
    write_neighbours(folder, vectors)  # (what a build makes from 20,000 articles)
    _listings_with_pieces(folder)
    fitted = ArticleVectors(encoder.name, {digest: vectors.rows[digest] for digest in texts})
    fit_and_save_query_encoder(folder, texts, fitted, twin / PIECES_CACHE_FILE)
    return twin


def _listings_with_pieces(folder: Path) -> None:
    """Write the listing files again as a build by meaning writes them: each passage's word pieces kept."""
    import os

    from whoosh import index as whoosh_index

    from indexer.index import listings
    from indexer.index.files import record_files
    from indexer.writing.segment_caches import write_missing

    for listing in folder.glob(f"*{listings.SUFFIX}"):
        listing.unlink()
    index = whoosh_index.open_dir(str(folder))
    with index.reader() as reader:
        write_missing(folder, reader, os.cpu_count() or 1, pieces=True)
    record_files(folder, index.latest_generation())  # (the file list has the twin's own files, or searchers refuse it)


def served(index: Path, workdir: Path, queries: list[str], seconds: float) -> dict[str, Any]:
    """Latency of new queries one at a time, then 16 clients' throughput (each query new too), then RSS."""
    with start_server(index, log=workdir / "server.log", workers=2) as server:
        load.warm_up(server.port, [f"{query} first" for query in queries[:48]])  # every worker thread opens its searcher
        figures: dict[str, Any] = {"api": load.latency(server.port, "/api/search", queries[:400])}
        figures["throughput"] = load.throughput(server.port, queries[400:], 16, seconds)
        figures["worker_rss_mb"] = worker_rss_mb(server.process.pid)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument("--fit-sample", type=int, default=6000, help="articles the query encoder is fitted to")
    parser.add_argument("--reuse", action="store_true", help="serve the indexes an earlier run built, if there")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    workdir = ROOT / ".cache" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = generate.cached_corpus(args.size, workdir)
    index, twin = workdir / f"index-{args.size}-words", workdir / f"index-{args.size}-words-meaning"
    build_s = float("nan")
    if not (args.reuse and IndexStore(index).pointer() and IndexStore(twin).pointer()):
        index, build_s = words_index(corpus, workdir, args.size)
    started = time.perf_counter()
    if not (args.reuse and IndexStore(twin).pointer()):
        twin = semantic_twin(index, workdir, args.fit_sample)
    queries = generate.queries(6000)  # (more than both runs ask: no answer comes from a cache)
    result: dict[str, Any] = {"size": args.size, "machine": machine(), "build_words_s": build_s,
                              "twin_s": time.perf_counter() - started}
    for name, path in (("words", index), ("meaning", twin)):
        result[name] = served(path, workdir, queries, args.seconds)
        figures = result[name]
        print(f"{args.size:,} articles, {name:<8} /api/search p50 {figures['api']['p50']:.1f} ms, p99 {figures['api']['p99']:.1f} ms; "
              f"{figures['throughput']['rps']:.0f} new queries/s at concurrency 16; "
              f"worker RSS {', '.join(f'{mb:.0f}' for mb in figures['worker_rss_mb'])} MB", flush=True)
    ratio = result["meaning"]["api"]["p50"] / result["words"]["api"]["p50"]
    print(f"by meaning / words alone, API p50: {ratio:.2f}x")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
