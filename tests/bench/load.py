"""Load figures for the web app: latency of /api/search and /search, and requests/s under concurrency.

Starts the real server (``article-search serve``, gunicorn) on a free loopback
port over an existing index, then:

1. latency: one client sends each of N distinct queries once to ``/api/search``,
   then N *other* distinct queries to ``/search`` (so the service's result
   cache never answers), and reports p50/p95/p99;
2. throughput: C clients with keep-alive connections send ``/api/search``
   requests for a bounded number of seconds, cycling through the ~3,300
   queries not used above (more than the per-worker cache of 512 holds),
   and report requests/s and latency under load.

Not collected by pytest (no ``test_`` prefix). Example, for 10,000 articles::

    mkdir -p /tmp/bench/corpus
    for c in nfcorpus scifact cranfield; do
      python3 ../shared/evaldata/make_articles.py $c /tmp/bench/corpus/$c; done
    .venv/bin/article-search index build --corpus /tmp/bench/corpus --index /tmp/bench/index
    .venv/bin/python tests/bench/load.py --index /tmp/bench/index --workers 2 --concurrency 16 --seconds 20
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support

from support import ROOT  # noqa: E402
from support.servers import start_server  # noqa: E402

EVALDATA = ROOT.parent / "shared" / "evaldata"
QUERY_FILES = ["nfcorpus/queries_dev.tsv", "scifact/queries_train.tsv", "nfcorpus/queries_train.tsv"]


def load_queries() -> list[str]:
    """Every distinct public query text of the evaluation collections, in file order."""
    seen: dict[str, None] = {}
    for name in QUERY_FILES:
        path = EVALDATA / name
        if path.exists():
            with open(path, encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    seen.setdefault(" ".join(row["text"].split())[:200], None)
    if not seen:
        sys.exit(f"no queries found under {EVALDATA}: pass the shared folder's evaldata")
    queries = list(seen)
    random.Random(0).shuffle(queries)  # a fixed mix of short (NFCorpus) and long (SciFact) queries
    return queries


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def url(endpoint: str, query: str) -> str:
    return f"{endpoint}?{urllib.parse.urlencode({'q': query})}"


def warm_up(port: int, queries: list[str]) -> None:
    """Open every worker's index and searchers first: a connection per request reaches both workers."""
    for index, query in enumerate(queries):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        get(connection, url("/search" if index % 2 else "/api/search", query))
        connection.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "mean": statistics.fmean(ordered)}


def latency(port: int, endpoint: str, queries: list[str]) -> dict[str, float]:
    """Time each query once, sequentially, over one keep-alive connection (milliseconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[float] = []
    for query in queries:
        started = time.perf_counter()
        status, _ = get(connection, url(endpoint, query))
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            sys.exit(f"{endpoint} answered {status} for {query!r}")
    connection.close()
    return percentiles(samples)


def throughput(port: int, queries: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    """``concurrency`` clients for ``seconds``: requests/s, errors, latency under load."""
    lock = threading.Lock()
    cursor = iter(range(10**9))
    samples: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            with lock:
                query = queries[next(cursor) % len(queries)]
            started = time.perf_counter()
            try:
                status, _ = get(connection, url("/api/search", query))
            except (OSError, http.client.HTTPException):
                status = 0
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            samples.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # (past len(queries) the queries come round again, and a worker's result cache may answer)
    return {"requests": len(samples), "errors": errors[0], "seconds": elapsed, "repeated": max(0, len(samples) - len(queries)),
            "rps": len(samples) / elapsed, **{f"load_{k}": v for k, v in percentiles(samples).items() if k != "n"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("ARTICLE_SEARCH_INDEX", "var/index")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200, help="distinct queries per latency run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the throughput run")
    parser.add_argument("--log", type=Path, default=Path("/tmp/article-search-load.log"))
    args = parser.parse_args()

    queries = load_queries()
    if len(queries) < 2 * args.queries:
        sys.exit(f"only {len(queries)} distinct queries; need {2 * args.queries}")
    server = start_server(args.index, log=args.log, workers=args.workers)
    port = server.port
    with server:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        documents = json.loads(get(connection, "/healthz")[1])["documents"]
        connection.close()
        warm_up(port, queries[-40:])
        # Alternate queries between the endpoints, so both get the same mix of short and long ones.
        measured = queries[: 2 * args.queries]
        api = latency(port, "/api/search", measured[0::2])
        page = latency(port, "/search", measured[1::2])
        load = throughput(port, queries[2 * args.queries : -20], args.concurrency, args.seconds)
    print(f"{documents} documents, {args.workers} gunicorn workers, loopback, {len(queries)} distinct queries available")
    for name, figures in (("/api/search", api), ("/search", page)):
        print(f"{name:12} {figures['n']:.0f} distinct queries, one at a time: p50 {figures['p50']:.1f} ms  "
              f"p95 {figures['p95']:.1f} ms  p99 {figures['p99']:.1f} ms  mean {figures['mean']:.1f} ms")
    print(f"/api/search  concurrency {args.concurrency} for {load['seconds']:.1f} s: {load['rps']:.1f} requests/s, "
          f"{load['requests']:.0f} requests, {load['errors']:.0f} errors, "
          f"p50 {load['load_p50']:.1f} ms  p95 {load['load_p95']:.1f} ms under load")


if __name__ == "__main__":
    main()
