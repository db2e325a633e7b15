"""Measure search quality on judged collections, beside a plain BM25 reference.

For each collection: convert its documents into articles (cached), index them
with the production ``build_index`` (cached per indexing configuration), run
every query of the split through ``SearchService.ranked_ids`` (the API's own
parsing and ranking) and through SQLite FTS5 BM25, and print nDCG@10, MRR@10,
Recall@100 and p50 latency side by side. A per-query TSV report goes to
``.cache/eval/report-<collection>-<split>.tsv``.

Example::

    .venv/bin/python tests/eval/run.py                      # nfcorpus dev, scifact train
    .venv/bin/python tests/eval/run.py --collection nfcorpus --split train --limit-queries 200
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import whoosh  # noqa: E402

import indexer  # noqa: E402
from indexer import IndexStore, SearchService, build_index, load_corpus, plain_text  # noqa: E402
from indexer.semantic.model import SemanticUnavailable, load_encoder  # noqa: E402

from fts5 import Fts5Reference  # noqa: E402
import passages  # noqa: E402
import quantised  # noqa: E402
from metrics import has_relevant, mean, mrr_at, ndcg_at, recall_at  # noqa: E402

CACHE = ROOT / ".cache" / "eval"
DEFAULT_SPLITS = {"nfcorpus": "dev", "scifact": "train"}
#: The issue's bar: our nDCG@10 over the reference's, per collection.
BAR = {"nfcorpus": 1.15, "scifact": 1.06}
#: ... and the API's p50 by meaning over its p50 by words alone, at most.
LATENCY_BAR = 1.5
#: Files whose code decides what goes into the index: a change to any means a new index.
INDEX_TIME_SOURCES = ("corpus", "index", "writing")
#: ... and, with semantic ranking, what decides the article vectors.
VECTOR_TIME_SOURCES = ("semantic",)
DEPTH = 100

NO_DATA = """\
No evaluation data at {path}.
The judged collections (NFCorpus, SciFact) and their converter make_articles.py
live in the shared folder next to the repository (../shared/evaldata); read its
README.md for where each collection comes from. Point EVALDATA at that folder:

    EVALDATA=/path/to/evaldata .venv/bin/python tests/eval/run.py
"""


@dataclass
class Outcome:
    collection: str
    split: str
    articles: int
    queries: int = 0
    judged: int = 0
    ours: dict[str, list[float]] = field(default_factory=lambda: {"ndcg": [], "mrr": [], "recall": []})
    ref: dict[str, list[float]] = field(default_factory=lambda: {"ndcg": [], "mrr": [], "recall": []})
    semantic: bool = False
    words: dict[str, list[float]] = field(default_factory=lambda: {"ndcg": [], "mrr": [], "recall": []})  # ours, words alone
    words_ms: list[float] = field(default_factory=list)
    words_api_ms: list[float] = field(default_factory=list)
    ours_ms: list[float] = field(default_factory=list)
    ref_ms: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)
    api_mismatches: int = 0
    rows: list[list[str]] = field(default_factory=list)
    #: Large-index layouts ("codes": 8-bit, scanned; "graph": found through the graph of neighbours):
    #: nearest-100 recall against the exact scan, and nDCG@10 with every layout so.
    large_recall: dict[str, float | None] = field(default_factory=dict)
    large_ndcg: dict[str, float] = field(default_factory=dict)
    graph_breadth: str = ""  # the generation's graph's calibration
    #: 8-bit codes, scanned: the moved (feedback) queries' nearest-100 recall within the first scan's pool, and their count.
    feedback_recall: tuple[float, int] | None = None


def read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [[cell.strip() for cell in row] for row in rows[1:] if row]


def load_split(evaldata: Path, collection: str, split: str) -> tuple[list[tuple[str, str]], dict[str, dict[str, int]]]:
    """Return the split's (query id, text) pairs and its judgments, query id -> doc id -> relevance."""
    queries = [(row[0], row[1]) for row in read_tsv(evaldata / collection / f"queries_{split}.tsv")]
    qrels: dict[str, dict[str, int]] = {}
    for query_id, doc_id, relevance in read_tsv(evaldata / collection / f"qrels_{split}.tsv"):
        qrels.setdefault(query_id, {})[doc_id] = int(relevance)
    return queries, qrels


def cached_articles(evaldata: Path, collection: str, log: bool) -> Path:
    """Convert the collection into articles once; later runs reuse the folder."""
    target = CACHE / collection / "articles"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    say(f"{collection}: converting documents into articles ...", log)
    partial = Path(tempfile.mkdtemp(prefix="articles-", dir=target.parent))
    try:
        subprocess.run(
            [sys.executable, str(evaldata / "make_articles.py"), collection, str(partial)],
            check=True, stdout=subprocess.DEVNULL,
        )
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def index_fingerprint(semantic: bool) -> str:
    """A hash of the stages' code that decides the index's contents (not its ranking)."""
    digest = hashlib.sha256(whoosh.versionstring().encode())
    package = Path(indexer.__file__).parent
    for stage in INDEX_TIME_SOURCES + (VECTOR_TIME_SOURCES if semantic else ()):
        for source in sorted((package / stage).glob("*.py")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12] + ("-semantic" if semantic else "")


def cached_index(articles: Path, collection: str, rebuild: bool, log: bool, semantic: bool) -> Path:
    """Index the articles with the production builder, once per indexing configuration.

    A semantic index starts as a copy of the newest earlier one, so the build
    reuses its article vectors (embedding every article again takes minutes).
    """
    target = CACHE / collection / f"index-{index_fingerprint(semantic)}"
    if rebuild and target.exists():
        shutil.rmtree(target)
    if IndexStore(target).pointer() is None:
        earlier = sorted(target.parent.glob("index-*-semantic"), key=lambda path: path.stat().st_mtime) if semantic else []
        if earlier and IndexStore(earlier[-1]).pointer() is not None:
            shutil.copytree(earlier[-1], target, dirs_exist_ok=True)
        say(f"{collection}: indexing {articles} with build_index{' (semantic: embedding every new article)' if semantic else ''} ...", log)
        report = build_index(articles, target, semantic=semantic)
        if report.errors:
            raise SystemExit(f"{collection}: {len(report.errors)} article(s) failed to index, e.g. {report.errors[0]}")
        say(f"{collection}: indexed {report.indexed} articles in {report.seconds:.1f}s", log)
        _prune_indexes(target)
    return target


def _prune_indexes(current: Path, keep: int = 3) -> None:
    """Keep the indexes of the last few configurations (to switch back without a rebuild), drop older ones."""
    others = sorted((path for path in current.parent.glob("index-*") if path != current), key=lambda path: path.stat().st_mtime)
    for path in others[: max(len(others) - (keep - 1), 0)]:
        shutil.rmtree(path, ignore_errors=True)


def cached_reference(articles: Path, collection: str, log: bool) -> Fts5Reference:
    """Build the FTS5 reference once per article conversion."""
    path = CACHE / collection / "fts5.sqlite"
    if path.exists():
        return Fts5Reference(path)
    say(f"{collection}: building the FTS5 reference ...", log)
    scan = load_corpus(articles)
    rows = ((a.title, plain_text(a.answer), str(a.extra["source_id"]), a.id) for a, _ in scan.articles)
    return Fts5Reference.build(path, rows)


def evaluate(evaldata: Path, collection: str, split: str, limit: int | None, rebuild: bool, log: bool, semantic: bool) -> Outcome:
    queries, qrels = load_split(evaldata, collection, split)
    queries = queries[:limit] if limit else queries
    articles = cached_articles(evaldata, collection, log)
    reference = cached_reference(articles, collection, log)
    source_of = reference.source_ids()
    index = cached_index(articles, collection, rebuild, log, semantic)
    service = SearchService(index)
    by_words = SearchService(index, semantic=False)
    outcome = Outcome(collection, split, len(reference), semantic=semantic)
    service.ranked_ids(queries[0][1], DEPTH)  # open the searchers (and load the model) outside the timings
    by_words.ranked_ids(queries[0][1], DEPTH)
    for query_id, text in queries:
        outcome.queries += 1
        started = time.perf_counter()
        ours = [source_of[article_id] for article_id in service.ranked_ids(text, DEPTH)]
        outcome.ours_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        words = [source_of[article_id] for article_id in by_words.ranked_ids(text, DEPTH)] if semantic else ours
        outcome.words_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        ref = reference.search(text, DEPTH)
        outcome.ref_ms.append((time.perf_counter() - started) * 1000)
        check_api(service, text, ours, source_of, outcome)
        if semantic:
            started = time.perf_counter()
            by_words.search(text, page=1, per_page=10)
            outcome.words_api_ms.append((time.perf_counter() - started) * 1000)
        judged = qrels.get(query_id, {})
        if not has_relevant(judged):
            continue
        outcome.judged += 1
        for scores, ranking in ((outcome.ours, ours), (outcome.words, words), (outcome.ref, ref)):
            scores["ndcg"].append(ndcg_at(ranking, judged, 10))
            scores["mrr"].append(mrr_at(ranking, judged, 10))
            scores["recall"].append(recall_at(ranking, judged, DEPTH))
        mine, theirs = outcome.ours["ndcg"][-1], outcome.ref["ndcg"][-1]
        outcome.rows.append([query_id, f"{mine:.4f}", f"{theirs:.4f}", f"{mine - theirs:+.4f}", text])
    if semantic:
        for layout in ("codes", "graph"):
            outcome.large_recall[layout] = quantised.nearest_recall(service, [text for _, text in queries], layout)
        outcome.graph_breadth = quantised.graph_breadth(service)
        outcome.feedback_recall = quantised.feedback_recall(index, [text for _, text in queries])

        def judged_ndcg(query_id: str, ids: list[int]) -> float | None:
            judged = qrels.get(query_id, {})
            return ndcg_at([source_of[article_id] for article_id in ids], judged, 10) if has_relevant(judged) else None

        for layout in quantised.LAYOUTS:
            outcome.large_ndcg[layout] = quantised.layout_ndcg(index, queries, judged_ndcg, layout)
    service.close()
    by_words.close()
    return outcome


def check_api(service: SearchService, text: str, ours: list[str], source_of: dict[int, str], outcome: Outcome) -> None:
    """Time the API's own call and confirm its first page is the ranking we score."""
    started = time.perf_counter()
    page = service.search(text, page=1, per_page=10)
    outcome.api_ms.append((time.perf_counter() - started) * 1000)
    if [source_of[hit.id] for hit in page.results] != ours[:10]:
        outcome.api_mismatches += 1


def write_report(outcome: Outcome) -> Path:
    path = CACHE / f"report-{outcome.collection}-{outcome.split}.tsv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["query_id", "ours_ndcg10", "fts5_ndcg10", "diff", "query"])
        writer.writerows(outcome.rows)
    return path


def print_table(outcome: Outcome) -> bool:
    """Print one collection's figures; return whether it meets the issue's bar."""
    print(f"\n{outcome.collection} {outcome.split}: {outcome.queries} queries ({outcome.judged} with a relevant document), {outcome.articles} articles")
    print(f"  {'metric':<12}{'ours':>9}{'FTS5':>9}{'ratio':>8}")
    for label, key in (("nDCG@10", "ndcg"), ("MRR@10", "mrr"), ("Recall@100", "recall")):
        mine, theirs = mean(outcome.ours[key]), mean(outcome.ref[key])
        ratio = f"{mine / theirs:.3f}" if theirs else "-"
        print(f"  {label:<12}{mine:>9.4f}{theirs:>9.4f}{ratio:>8}")
    p50 = statistics.median(outcome.ours_ms), statistics.median(outcome.ref_ms)
    print(f"  {'p50 ms':<12}{p50[0]:>9.2f}{p50[1]:>9.2f}{p50[0] / p50[1]:>8.1f}")
    if outcome.semantic:
        words = ", ".join(f"{label} {mean(outcome.words[key]):.4f} ({mean(outcome.words[key]) / (mean(outcome.ref[key]) or 1):.3f}x)"
                          for label, key in (("nDCG@10", "ndcg"), ("MRR@10", "mrr"), ("R@100", "recall")))
        print(f"  ours by words alone (semantic off): {words}; p50 {statistics.median(outcome.words_ms):.2f} ms, "
              f"API search() p50 {statistics.median(outcome.words_api_ms):.2f} ms")
    print(f"  API search() page 1 of 10, with snippets: p50 {statistics.median(outcome.api_ms):.2f} ms; "
          f"its top 10 equals the scored ranking for {outcome.queries - outcome.api_mismatches}/{outcome.queries} queries")
    used = {"exact": f"below {quantised.neighbours.GRAPH_FROM:,} articles", "graph": f"from {quantised.neighbours.GRAPH_FROM:,}",
            "codes": f"from {quantised.quantised.QUANTISE_FROM:,} when a generation lacks its graph"}
    for layout, label in quantised.LAYOUTS.items():
        recall, ndcg = outcome.large_recall.get(layout, 1.0), outcome.large_ndcg.get(layout)
        if recall is not None and ndcg is not None:
            print(f"  {label} ({used[layout]}): nearest-100 recall against the exact "
                  f"scan {recall:.4f}; nDCG@10 with it {ndcg:.4f} ({ndcg / (mean(outcome.ref['ndcg']) or 1):.3f}x)")
            if layout == "codes" and outcome.feedback_recall:
                share, count = outcome.feedback_recall
                print(f"    feedback ranked among the first scan's pool: nearest-100 recall {share:.4f} "
                      f"over {count} moved queries")
            if layout == "graph" and outcome.graph_breadth:
                print(f"    the graph: {outcome.graph_breadth}")
    ndcg_ratio = mean(outcome.ours["ndcg"]) / (mean(outcome.ref["ndcg"]) or 1)
    recall_ok = mean(outcome.ours["recall"]) >= mean(outcome.ref["recall"])
    bar = BAR.get(outcome.collection)
    if bar is None:
        return True
    latency = statistics.median(outcome.api_ms) / statistics.median(outcome.words_api_ms) if outcome.semantic else 1.0
    met = ndcg_ratio >= bar and recall_ok and outcome.api_mismatches == 0 and latency <= LATENCY_BAR
    print(f"  bar: nDCG@10 >= {bar:.2f}x FTS5 ({ndcg_ratio:.3f}x), Recall@100 >= FTS5 ({'yes' if recall_ok else 'no'}), "
          f"API p50 <= {LATENCY_BAR}x words alone ({latency:.2f}x): {'MET' if met else 'NOT MET'}")
    return met


def say(message: str, log: bool) -> None:
    if log:
        print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", action="append", choices=sorted(DEFAULT_SPLITS),
                        help="collection to evaluate (repeatable; default: all)")
    parser.add_argument("--split", help="query split for every chosen collection (default: nfcorpus dev, scifact train)")
    parser.add_argument("--limit-queries", type=int, metavar="N", help="only the first N queries of each split (quick runs)")
    parser.add_argument("--rebuild", action="store_true", help="re-index even when a cached index matches the code")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    parser.add_argument("--words-only", action="store_true", help="rank by words alone even when the embedding model is installed")
    return parser.parse_args(argv)


def passage_check(evaldata: Path, limit: int | None, semantic: bool) -> None:
    """The answering passages against SciFact's evidence sentences (tests/eval/passages.py)."""
    articles = cached_articles(evaldata, "scifact", False)
    article_of = {source: article_id for article_id, source in cached_reference(articles, "scifact", False).source_ids().items()}
    with SearchService(cached_index(articles, "scifact", False, False, semantic), semantic=semantic) as service:
        passages.print_outcome(passages.measure(evaldata, "train", service, article_of, limit))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    evaldata = Path(os.environ.get("EVALDATA") or ROOT.parent / "shared" / "evaldata").resolve()
    if not (evaldata / "make_articles.py").is_file():
        print(NO_DATA.format(path=evaldata), file=sys.stderr)
        return 1
    collections = args.collection or sorted(DEFAULT_SPLITS)
    plan = [(name, args.split or DEFAULT_SPLITS[name]) for name in collections]
    for name, split in plan:
        if not (evaldata / name / f"queries_{split}.tsv").is_file():
            print(f"{evaldata / name} has no '{split}' split (queries_{split}.tsv); "
                  f"try --collection {name} --split {DEFAULT_SPLITS[name]}", file=sys.stderr)
            return 1 if not (evaldata / name).is_dir() else 2
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE.parent / ".gitignore").write_text("*\n")  # the cache never shows up in git status
    semantic = not args.words_only
    if semantic:
        try:
            load_encoder()
        except SemanticUnavailable as error:
            print(f"ranking by words alone: {error}", file=sys.stderr)
            semantic = False
    print(f"evaluating with EVALDATA={evaldata}; ranking: {'words fused with meaning (semantic)' if semantic else 'words alone'}")
    all_met = True
    for name, split in plan:
        outcome = evaluate(evaldata, name, split, args.limit_queries, args.rebuild, not args.quiet, semantic)
        all_met &= print_table(outcome)
        print(f"  per-query report: {write_report(outcome).relative_to(ROOT)}")
    if "scifact" in collections and args.split in (None, "train"):
        passage_check(evaldata, args.limit_queries, semantic)
    print(f"\noverall: {'bar met' if all_met else 'bar not met'} (exit status stays 0; the figures are the result)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
