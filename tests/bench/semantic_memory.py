"""A worker's memory and speed when it ranks by meaning, at 100,000 articles, beside words alone.

Embedding 100,000 articles takes hours on two cores, so the twin index ranking
by meaning gets vectors made as the query encoder's fit starts: each article's
word pieces' lone vectors from the model, weighted by idf and summed, less their
mean (one per content hash, float16 as a build writes them). Articles that share
words lie near each other, as with the model's vectors, though less: generated
articles draw from one vocabulary, so their vectors spread more evenly than real
ones (see :func:`summed_pieces`). The graph of nearest neighbours is made and
calibrated as a build makes it; at 100,000 of these vectors no breadth brings
it to the recall a build requires, so, as a build would, searchers scan the
8-bit codes (tests/bench/RESULTS.md, 2026-12-04). A query encoder is then fitted
to a sample of the articles. Both indexes are served by
`article-search serve --workers 2` in turn, with the same new queries.

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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1]),
                str(Path(__file__).resolve().parents[1] / "eval")]  # bench/, tests/ and eval/

import generate  # noqa: E402
import load  # noqa: E402
from quantised import feedback_recall  # noqa: E402  (tests/eval/quantised.py)
from run import CLI, machine, timed_process, worker_rss_mb  # noqa: E402

from indexer import IndexStore  # noqa: E402
from indexer.corpus.rendering import plain_text  # noqa: E402
from indexer.index.schema import unpack_article  # noqa: E402
from indexer.semantic.fitting import fit_and_save_query_encoder  # noqa: E402
from indexer.semantic.model import TextEncoder, embedding_text, load_encoder  # noqa: E402
from indexer.semantic.neighbours import write_neighbours  # noqa: E402
from indexer.semantic.query_encoder import PIECES_CACHE_FILE, QueryEncoder  # noqa: E402
from indexer.semantic.vectors import ArticleVectors  # noqa: E402
from support import ROOT  # noqa: E402
from support.servers import start_server  # noqa: E402


def words_index(corpus: Path, workdir: Path, size: int) -> tuple[Path, float]:
    index = workdir / f"index-{size}-words"
    shutil.rmtree(index, ignore_errors=True)
    seconds, _ = timed_process([CLI, "index", "build", "--no-semantic", "--corpus", str(corpus), "--index", str(index)])
    return index, seconds


def semantic_twin(index: Path, workdir: Path, fit_sample: int) -> Path:
    """A copy of ``index`` with article vectors summed from word pieces and a query encoder fitted to ``fit_sample`` of them."""
    from whoosh import index as whoosh_index

    done = workdir / f"{index.name}-meaning"
    twin = done.with_name(done.name + ".partial")  # (renamed when whole, so that --reuse never takes half a twin)
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(index, twin)
    folder = twin / IndexStore(twin).require_pointer().dir
    encoder = load_encoder()
    every: dict[str, str] = {}
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        hashes = reader.column_reader("content_hash")
        for docnum, fields in reader.iter_docs():
            data = unpack_article(fields)
            every[hashes[docnum]] = embedding_text(data.get("title", ""), data.get("question", ""), plain_text(data.get("answer", "")))
    digests = sorted(every)
    sample = set(random.Random(5).sample(digests, min(fit_sample, len(digests))))
    texts = {digest: every[digest] for digest in digests if digest in sample}
    vectors = ArticleVectors(encoder.name, dict(zip(digests, summed_pieces(encoder, [every[digest] for digest in digests]))))
    del every
    vectors.save(folder)
    write_neighbours(folder, vectors)  # (what a build makes from GRAPH_FROM, 2,000, articles)
    _listings_with_pieces(folder)
    fitted = ArticleVectors(encoder.name, {digest: vectors.rows[digest] for digest in texts})
    fit_and_save_query_encoder(folder, texts, fitted, twin / PIECES_CACHE_FILE)
    shutil.rmtree(done, ignore_errors=True)
    twin.rename(done)
    return done


def summed_pieces(encoder: TextEncoder, texts: list[str]) -> "np.ndarray":
    """Each text's unit vector as the sum of its word pieces' lone vectors, weighted by idf, less the
    texts' mean (float16). Generated articles draw their words from one shared vocabulary, so the
    sums all lie within a few degrees of their mean (its length is 0.99); taken away, a query's
    nearest article lies at a cosine of about 0.42 and its hundredth at 0.26, where the judged
    collections' queries find theirs at 0.58-0.65 and 0.29-0.36."""
    import numpy as np

    cut = [np.array(encoding.ids, dtype=np.int64) for encoding in encoder.tokenizer.encode_batch(texts, add_special_tokens=False)]
    size = encoder.tokenizer.get_vocab_size()
    frequency = np.bincount(np.concatenate([np.unique(ids) for ids in cut]), minlength=size)
    used = np.setdiff1d(np.flatnonzero(frequency), np.array(encoder.special_ids(), dtype=np.int64))
    pieces = np.zeros((size, encoder.dimensions), dtype=np.float32)
    pieces[used] = encoder.lone_piece_vectors(used) * (np.log((len(texts) + 1) / (frequency[used, None] + 1.0)) + 1.0)
    summing = QueryEncoder.from_pieces(encoder.name, pieces, encoder.tokenizer.to_str())
    summed = np.concatenate([summing.encode_pieces(cut[start : start + 1000]) for start in range(0, len(cut), 1000)])
    summed -= summed.mean(axis=0)
    summed /= np.linalg.norm(summed, axis=1, keepdims=True)
    return summed.astype(np.float16)


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
        time.sleep(4)  # (and each worker makes its coarse codes in a thread of its own: about 2 s at 100,000)
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
    rebuilt = not (args.reuse and IndexStore(index).pointer())
    if rebuilt:
        index, build_s = words_index(corpus, workdir, args.size)
    started = time.perf_counter()
    if rebuilt or not IndexStore(twin).pointer():
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
    recall = feedback_recall(twin, queries[:300])
    if recall is not None:
        result["feedback_pool_recall"] = {"recall": recall[0], "moved_queries": recall[1]}
        print(f"feedback ranked among the first scan's pool: nearest-100 recall {recall[0]:.4f} over {recall[1]} moved queries")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
