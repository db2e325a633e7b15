"""Compare ranking settings quickly, in one process, on the judged collections.

Each setting is a JSON object of ``indexer.ranking.bm25f`` / ``fusion`` module constants; every
setting is scored with the same ``SearchService.ranked_ids`` and metrics as
``run.py`` (whose cached articles, indexes and FTS5 reference it reuses), and
printed as ratios to FTS5. Tune on train splits; confirm on dev once.

Example::

    .venv/bin/python tests/eval/tune.py --on nfcorpus:train:600 --on scifact:train \\
        '{}' '{"SEMANTIC_WEIGHT": 0.4}'
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402
from indexer import SearchService  # noqa: E402
from indexer.ranking import bm25f, fusion  # noqa: E402
from metrics import has_relevant, mean, mrr_at, ndcg_at, recall_at  # noqa: E402

#: Tune the ranking with article vectors (as `make eval` does when the model is installed).
SEMANTIC = os.environ.get("TUNE_SEMANTIC", "1") != "0"


def prepare(evaldata: Path, collection: str, split: str, limit: int | None):
    queries, qrels = run.load_split(evaldata, collection, split)
    queries = [(qid, text) for qid, text in queries if has_relevant(qrels.get(qid, {}))]
    queries = queries[:limit] if limit else queries
    articles = run.cached_articles(evaldata, collection, False)
    reference = run.cached_reference(articles, collection, False)
    service = SearchService(run.cached_index(articles, collection, False, False, semantic=SEMANTIC))
    ref = [reference.search(text, run.DEPTH) for _, text in queries]
    ref_scores = score(ref, queries, qrels)
    return queries, qrels, service, reference.source_ids(), ref_scores


def score(rankings, queries, qrels):
    out = {"ndcg": [], "mrr": [], "recall": []}
    for ranking_, (qid, _) in zip(rankings, queries):
        judged = qrels[qid]
        out["ndcg"].append(ndcg_at(ranking_, judged, 10))
        out["mrr"].append(mrr_at(ranking_, judged, 10))
        out["recall"].append(recall_at(ranking_, judged, run.DEPTH))
    return {key: mean(values) for key, values in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--on", action="append", required=True, help="collection:split[:limit]")
    parser.add_argument("settings", nargs="+")
    args = parser.parse_args()
    evaldata = Path(os.environ.get("EVALDATA") or run.ROOT.parent / "shared" / "evaldata").resolve()
    sets = []
    for spec in args.on:
        parts = spec.split(":")
        sets.append((spec, prepare(evaldata, parts[0], parts[1], int(parts[2]) if len(parts) > 2 else None)))
    modules = {name: module for module in (bm25f, fusion) for name in dir(module) if name.isupper()}
    defaults = {name: getattr(module, name) for name, module in modules.items()}
    for spec, (_, _, _, _, ref) in sets:
        print(f"{spec:<22} FTS5 nDCG {ref['ndcg']:.4f} MRR {ref['mrr']:.4f} R@100 {ref['recall']:.4f}")
    for setting in args.settings:
        changes = json.loads(setting)
        unknown = sorted(set(changes) - set(defaults))
        if unknown:
            sys.exit(f"indexer/ranking/ has no setting {', '.join(unknown)}; it has {', '.join(sorted(defaults))}")
        for name, value in {**defaults, **changes}.items():
            setattr(modules[name], name, value)
        line = []
        for spec, (queries, qrels, service, source_of, ref) in sets:
            rankings, times = [], []
            for _, text in queries:
                started = time.perf_counter()
                ids = service.ranked_ids(text, run.DEPTH)
                times.append((time.perf_counter() - started) * 1000)
                rankings.append([source_of[i] for i in ids])
            ours = score(rankings, queries, qrels)
            line.append(f"{spec.split(':')[0][:3]} {ours['ndcg']:.4f} ({ours['ndcg'] / ref['ndcg']:.3f}x) "
                        f"R {ours['recall']:.4f} ({ours['recall'] / ref['recall']:.3f}x) p50 {statistics.median(times):.1f}")
        print(" | ".join(line), " ", setting, flush=True)


if __name__ == "__main__":
    main()
