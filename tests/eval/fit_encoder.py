"""Cost and agreement of the query-encoder fit (indexer/query_encoder.py), outside a build.

    .venv/bin/python tests/eval/fit_encoder.py nfcorpus scifact
        fits on a judged collection's own article vectors (from the index `make eval`
        built): time without and with the lone-piece cache, the same by conjugate
        gradient, and how close the two fits' query vectors are on its queries.
    .venv/bin/python tests/eval/fit_encoder.py --partial nfcorpus scifact
        scores the split with the encoder fitted on all, 80% and 50% of the
        articles (what updates leave until the encoder is refitted).
    .venv/bin/python tests/eval/fit_encoder.py --memory nfcorpus
        the peak memory of a fresh process that opens the collection's index and
        runs three searches: by words, by meaning, and by meaning with the model
        embedding the queries (the encoder file removed from a copy).
    .venv/bin/python tests/eval/fit_encoder.py --corpus .cache/bench/corpus-100000
        the fit's time and peak memory on any corpus, with random unit vectors
        standing in for the model's (only the cost is measured).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from indexer import IndexStore, SearchService, load_corpus, plain_text  # noqa: E402
from indexer.semantic.vectors import ArticleVectors  # noqa: E402
from indexer.semantic.model import embedding_text, load_encoder  # noqa: E402
from indexer.semantic.query_encoder import QUERY_ENCODER_FILE, fit_query_encoder  # noqa: E402
from fts5 import Fts5Reference  # noqa: E402
from metrics import has_relevant, ndcg_at, recall_at  # noqa: E402
from run import CACHE, DEFAULT_SPLITS, DEPTH, load_split  # noqa: E402


def texts_of(corpus: Path) -> tuple[list[str], list[str]]:
    articles = load_corpus(corpus).articles
    return [embedding_text(a.title, a.question, plain_text(a.answer)) for a, _ in articles], [digest for _, digest in articles]


T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = work()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def collection(name: str, evaldata: Path) -> None:
    index = max((CACHE / name).glob("index-*-semantic"), key=lambda path: path.stat().st_mtime)
    vectors = ArticleVectors.load(index / IndexStore(index).require_pointer().dir)
    assert vectors is not None, f"{index} has no article vectors: run `make eval` first"
    texts, digests = texts_of(CACHE / name / "articles")
    unique = {digest: text for text, digest in zip(texts, digests) if digest in vectors}
    matrix = np.array([vectors.rows[digest] for digest in unique], dtype=np.float32)
    print(f"{name}: {len(unique)} distinct articles", flush=True)
    encoder = load_encoder()
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "pieces.npz"
        timed("exact fit, lone pieces computed", lambda: fit_query_encoder(encoder, list(unique.values()), matrix, cache=cache))
        exact = timed("exact fit, lone pieces cached", lambda: fit_query_encoder(encoder, list(unique.values()), matrix, cache=cache))
        iterative = timed("conjugate gradient, cached", lambda: fit_query_encoder(encoder, list(unique.values()), matrix, cache=cache, exact_limit=0))
    queries = [text for _, text in load_split(evaldata, name, DEFAULT_SPLITS[name])[0]]
    agreement = [float(exact.encode_query(text) @ iterative.encode_query(text)) for text in queries]
    print(f"  {len(queries)} queries: cosine of the two fits' vectors mean {statistics.mean(agreement):.4f}, min {min(agreement):.4f}")
    started = time.perf_counter()
    for text in queries:
        exact.encode_query(text)
    print(f"  a query embeds in {(time.perf_counter() - started) / len(queries) * 1000:.3f} ms")


def partial_fits(name: str, evaldata: Path) -> None:
    """Score the split on a copy of the eval index whose encoder saw only part of the articles."""
    index = max((CACHE / name).glob("index-*-semantic"), key=lambda path: path.stat().st_mtime)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "index"
        shutil.copytree(index, work)
        folder = work / IndexStore(work).require_pointer().dir
        vectors = ArticleVectors.load(folder)
        assert vectors is not None, f"{index} has no article vectors: run `make eval` first"
        texts, digests = texts_of(CACHE / name / "articles")
        unique = list({digest: text for text, digest in zip(texts, digests) if digest in vectors}.items())
        queries, judgments = load_split(evaldata, name, DEFAULT_SPLITS[name])
        judged = [(text, judgments[query]) for query, text in queries if has_relevant(judgments.get(query, {}))]
        reference = Fts5Reference(CACHE / name / "fts5.sqlite")
        source_of = reference.source_ids()
        baseline = statistics.mean(ndcg_at(reference.search(text, DEPTH), relevant, 10) for text, relevant in judged)
        for share in (1.0, 0.8, 0.5):
            part = unique if share == 1.0 else random.Random(0).sample(unique, int(len(unique) * share))
            matrix = np.array([vectors.rows[digest] for digest, _ in part], dtype=np.float32)
            fit_query_encoder(load_encoder(), [text for _, text in part], matrix, cache=Path(scratch) / "pieces.npz").save(folder)
            ndcg, recall = [], []
            with SearchService(work) as service:
                for text, relevant in judged:
                    ranking = [source_of[article_id] for article_id in service.ranked_ids(text, DEPTH)]
                    ndcg.append(ndcg_at(ranking, relevant, 10))
                    recall.append(recall_at(ranking, relevant, DEPTH))
            print(f"{name}: encoder fitted on {share:.0%} of the articles: nDCG@10 {statistics.mean(ndcg):.4f} "
                  f"({statistics.mean(ndcg) / baseline:.3f}x FTS5), Recall@100 {statistics.mean(recall):.4f}", flush=True)


SEARCHER = """
import sys
from indexer import SearchService
service = SearchService(sys.argv[1], semantic=sys.argv[2] == "meaning")
for text in ("drug tolerance", "vitamin d and heart disease", "does coffee cause cancer"):
    service.search(text)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def worker_memory(name: str, evaldata: Path) -> None:
    """Peak memory (VmHWM) of a fresh searching process, each way of ranking."""
    index = max((CACHE / name).glob("index-*-semantic"), key=lambda path: path.stat().st_mtime)
    with tempfile.TemporaryDirectory() as scratch:
        without = Path(scratch) / "index"
        shutil.copytree(index, without)
        (without / IndexStore(without).require_pointer().dir / QUERY_ENCODER_FILE).unlink()
        for label, folder, how in (("by words", index, "words"), ("by meaning", index, "meaning"), ("by meaning, model on queries", without, "meaning")):
            peak = subprocess.run([sys.executable, "-c", SEARCHER, str(folder), how], capture_output=True, text=True, check=True, cwd=ROOT)
            print(f"{name}: a worker searching {label} peaks at {int(peak.stdout) // 1024} MB", flush=True)


def corpus_cost(corpus: Path) -> None:
    texts, _ = timed("reading the corpus", lambda: texts_of(corpus))
    vectors = np.random.default_rng(0).standard_normal((len(texts), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    encoder = load_encoder()
    with tempfile.TemporaryDirectory() as folder:
        timed(f"fit on {len(texts)} articles, lone pieces computed", lambda: fit_query_encoder(encoder, texts, vectors, cache=Path(folder) / "p.npz"))
    print(f"  peak memory: {before} MB before the fit, {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collections", nargs="*", help=f"judged collections after `make eval`: {', '.join(sorted(DEFAULT_SPLITS))}")
    parser.add_argument("--corpus", type=Path, help="measure the fit's cost on this corpus instead")
    parser.add_argument("--partial", action="store_true", help="score fits on part of the articles instead")
    parser.add_argument("--memory", action="store_true", help="measure a searching worker's peak memory instead")
    parser.add_argument("--evaldata", type=Path, default=ROOT.parent / "shared" / "evaldata")
    args = parser.parse_args()
    unknown = set(args.collections) - set(DEFAULT_SPLITS)
    if unknown or not (args.collections or args.corpus):
        parser.error(f"name a collection ({', '.join(sorted(DEFAULT_SPLITS))}) or --corpus; unknown: {', '.join(sorted(unknown)) or '-'}")
    if args.corpus:
        corpus_cost(args.corpus)
    for name in args.collections:
        (worker_memory if args.memory else partial_fits if args.partial else collection)(name, args.evaldata)


if __name__ == "__main__":
    main()
