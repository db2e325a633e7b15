"""Requests/s through nginx for 1, 2 and 3 replicas (one gunicorn worker each) on one machine.

The replicas share this machine's cores, so the figures show the overhead and
the balance, not a cluster's capacity. Not collected by pytest. Example::

    .venv/bin/python tests/bench/scale_out.py --size 10000 --seconds 15
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import generate  # noqa: E402
import load  # noqa: E402
from support.servers import start_nginx, start_server  # noqa: E402

from indexer import build_index  # noqa: E402
from indexer.index.snapshots import publish_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=HERE.parents[1] / ".cache" / "bench")
    args = parser.parse_args()
    corpus = generate.cached_corpus(args.size, args.workdir)
    queries = generate.queries(500)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        build_index(corpus, root / "index")
        publish_index(root / "index", root / "snapshots")
        for count in (1, 2, 3):
            replicas = [start_server(index_from=root / "snapshots", log=root / f"replica-{count}-{n}.log", workers=1) for n in range(count)]
            nginx = start_nginx(root / f"nginx-{count}", [replica.port for replica in replicas], client_limits=False)
            try:
                figures = load.throughput(nginx.port, queries, args.concurrency, args.seconds)
            finally:
                nginx.stop()
                for replica in replicas:
                    replica.kill()
            print(f"{count} replica(s): {figures['rps']:.1f} req/s, {figures['errors']} errors, "
                  f"p50 {figures['load_p50']:.0f} ms, p99 {figures['load_p99']:.0f} ms under load")
        # kill -9 one of three replicas a third of the way into a run: nginx retries refused
        # connections, but a response the dying replica had begun to send cannot be retried.
        replicas = [start_server(index_from=root / "snapshots", log=root / f"replica-kill-{n}.log", workers=1) for n in range(3)]
        nginx = start_nginx(root / "nginx-kill", [replica.port for replica in replicas], client_limits=False)
        killer = threading.Timer(args.seconds / 3, replicas[0].kill)
        try:
            killer.start()
            figures = load.throughput(nginx.port, queries, args.concurrency, args.seconds)
        finally:
            killer.cancel()
            nginx.stop()
            for replica in replicas:
                replica.kill()
        print(f"3 replicas, one killed -9 mid-run: {figures['requests']} requests, {figures['errors']} failed")


if __name__ == "__main__":
    main()
