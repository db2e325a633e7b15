"""Search p50 with search analytics on and off, in one run: what recording costs a search.

Two `article-search serve` servers over the same index, one with
ARTICLE_SEARCH_ANALYTICS=off; one client alternates between them request by
request (the same queries, in the same order), so load from elsewhere on the
machine falls on both alike. Target: p50 with analytics within 5% of without.
The index ranks by words alone (--no-semantic) so a search is as fast as it
gets and recording's share of it is as large as it gets. Not collected by
pytest. Example::

    .venv/bin/python tests/bench/analytics.py --size 10000 --requests 1500
"""

from __future__ import annotations

import argparse
import http.client
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import generate  # noqa: E402
from support.load import percentile  # noqa: E402
from support.servers import Server, start_server  # noqa: E402

from indexer import build_index  # noqa: E402


def timed_get(connection: http.client.HTTPConnection, target: str) -> float:
    started = time.perf_counter()
    connection.request("GET", target)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"{target} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1500, help="searches per server")
    parser.add_argument("--workdir", type=Path, default=HERE.parents[1] / ".cache" / "bench")
    args = parser.parse_args()
    corpus = generate.cached_corpus(args.size, args.workdir)
    # Distinct queries (words, and page 2 now and then), so neither server answers from its cache.
    words = generate.queries(args.requests)
    targets = [f"/api/search?{urlencode({'q': f'{query} {number}' if number % 3 else query, 'page': 1 + (number % 7 == 0)})}"
               for number, query in enumerate(words)][: args.requests]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        build_index(corpus, root / "index", semantic=False)
        db = root / "analytics.sqlite3"
        servers: dict[str, Server] = {
            "off": start_server(root / "index", log=root / "off.log", workers=2, env={"ARTICLE_SEARCH_ANALYTICS": "off"}),
            "on": start_server(root / "index", log=root / "on.log", workers=2, env={"ARTICLE_SEARCH_ANALYTICS_DB": str(db)}),
        }
        try:
            connections = {name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for name, server in servers.items()}
            for target in targets[:50]:  # warm up: open searchers, fill the OS cache
                for connection in connections.values():
                    timed_get(connection, target.replace("q=", "q=warm+"))
            times: dict[str, list[float]] = {"off": [], "on": []}
            for number, target in enumerate(targets):
                order = ("off", "on") if number % 2 else ("on", "off")  # neither always goes first
                for name in order:
                    times[name].append(timed_get(connections[name], target))
        finally:
            for server in servers.values():
                server.kill()
        with sqlite3.connect(db) as database:
            recorded = database.execute("SELECT count(*) FROM searches").fetchone()[0]
    p50 = {name: percentile(values, 50) for name, values in times.items()}
    p95 = {name: percentile(values, 95) for name, values in times.items()}
    change = (p50["on"] / p50["off"] - 1) * 100
    print(f"search analytics, {args.size} articles, {len(targets)} searches per server, one client alternating:")
    print(f"  off: p50 {p50['off']:.2f} ms, p95 {p95['off']:.2f} ms")
    print(f"  on:  p50 {p50['on']:.2f} ms, p95 {p95['on']:.2f} ms ({recorded} searches recorded)")
    print(f"  p50 with analytics on is {change:+.1f}% against off (target: within 5%)")


if __name__ == "__main__":
    main()
