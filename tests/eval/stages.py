"""Where an API search spends its time: CPU milliseconds per stage, by meaning and by words alone.

The machine is shared, so wall-clock medians move with the load; the CPU time of
this thread (``time.thread_time``) moves much less. Each stage is a function of
the search path wrapped with a timer; nested stages are indented under the
stage that calls them. Both services open the same cached index of ``make eval``
and answer every query of the split once, by words first, then by meaning (a
space is added to each query so the results cache never answers).

Example (after ``make eval`` has built the index)::

    .venv/bin/python tests/eval/stages.py nfcorpus
    .venv/bin/python tests/eval/stages.py scifact --limit-queries 300
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import indexer.ranking.fusion as fusion  # noqa: E402
import indexer.search.filters as filters  # noqa: E402
import indexer.search.highlight as highlight  # noqa: E402
import indexer.search.passages as passages  # noqa: E402
import indexer.search.ranked as ranked  # noqa: E402
import indexer.search.service as service  # noqa: E402
from indexer import SearchService  # noqa: E402
from indexer.semantic import neighbours, quantised, query_encoder, vectors  # noqa: E402

from run import CACHE, DEFAULT_SPLITS, load_split  # noqa: E402

#: (owner, attribute, label); a label's leading spaces show its depth.
STAGES: list[tuple[Any, str, str]] = [
    (service.SearchService, "search", "search, in all"),
    (service.Generation, "parse", " parse"),
    (service.SearchService, "_ranked_or_retried", " rank (and spelling retry)"),
    (ranked, "bm25f_scores", "  BM25F"),
    (ranked, "fuse", "  fusion with meaning"),
    (vectors.VectorMatrix, "nearest", "   nearest articles (matrix pass)"),
    (quantised.QuantisedMatrix, "nearest_pooled", "   nearest articles (coarse scan, best by 8-bit codes; keeps the pool)"),
    (quantised.QuantisedMatrix, "nearest_among", "   feedback's nearest, among the pool (8-bit)"),
    (neighbours.NeighbourMatrix, "nearest", "   nearest articles (graph)"),
    (quantised.CodedVectors, "similarity", "   similarity of the other candidates (8-bit)"),
    (vectors.SemanticQuery, "refined", "   feedback: the query moved"),
    (query_encoder.QueryEncoder, "encode_query", "   query embedded"),
    (service, "_hit", " results"),
    (passages.PassageReader, "read", "  passages"),
    (passages.PassageReader, "_meaning", "   passages by meaning"),
    (service.Generation, "answer_parts", "   answers split (per generation)"),
    (highlight.Highlighter, "snippet", "  snippet"),
    (filters.Filters, "facets", " facets"),
    (service.Speller, "suggestion", " spelling suggestion"),
]


def timed(spent: dict[str, float], owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so each call adds its CPU time to ``spent[label]``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", choices=sorted(DEFAULT_SPLITS))
    parser.add_argument("--limit-queries", type=int, metavar="N")
    parser.add_argument("--index", type=Path, help="an index by meaning to profile instead of make eval's")
    parser.add_argument("--bench-queries", type=int, metavar="N", help="N of the bench's generated queries instead of the split's")
    args = parser.parse_args()
    evaldata = Path(os.environ.get("EVALDATA") or ROOT.parent / "shared" / "evaldata").resolve()
    if args.bench_queries:
        sys.path.insert(0, str(ROOT / "tests" / "bench"))
        import generate

        queries = generate.queries(args.bench_queries)
    else:
        queries = [text for _, text in load_split(evaldata, args.collection, DEFAULT_SPLITS[args.collection])[0]]
    queries = queries[: args.limit_queries] if args.limit_queries else queries
    indexes = [args.index] if args.index else sorted((CACHE / args.collection).glob("index-*-semantic"), key=lambda path: path.stat().st_mtime)
    if not indexes:
        raise SystemExit(f"no cached index for {args.collection}: run `make eval` first")
    quantised.COARSE_IN_BACKGROUND = False  # (made before the timings, as a worker has them after its first seconds)
    spent: dict[str, float] = collections.defaultdict(float)
    for owner, name, label in STAGES:
        if hasattr(owner, name):
            timed(spent, owner, name, label)
    cpu: dict[str, dict[str, float]] = {}
    wall: dict[str, float] = {}
    for way in ("words", "meaning"):
        with SearchService(indexes[-1], semantic=way == "meaning") as searching:
            searching.search(queries[0])  # open the searcher and lay out the vectors outside the timings
            spent.clear()
            took = []
            for text in queries:
                started = time.perf_counter()
                searching.search(text + " ")
                took.append((time.perf_counter() - started) * 1000)
            cpu[way] = {label: seconds * 1000 / len(queries) for label, seconds in spent.items()}
            wall[way] = statistics.median(took)
    print(f"{args.collection}: {len(queries)} queries, index {indexes[-1].name}; CPU ms per search")
    print(f"  {'stage':<36}{'words':>8}{'meaning':>9}{'extra':>8}")
    for _, _, label in STAGES:
        words, meaning = cpu["words"].get(label, 0.0), cpu["meaning"].get(label, 0.0)
        if words or meaning:
            print(f"  {label:<36}{words:>8.2f}{meaning:>9.2f}{meaning - words:>+8.2f}")
    print(f"  CPU ratio {cpu['meaning']['search, in all'] / cpu['words']['search, in all']:.2f}; "
          f"wall p50 {wall['words']:.2f} / {wall['meaning']:.2f} ms ({wall['meaning'] / wall['words']:.2f}x); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
