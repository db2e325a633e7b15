"""Three replicas behind real nginx: a replica killed mid-run and a snapshot published mid-run cost no request."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from support.servers import Nginx, Server, fetch, nginx_binary, replicas_behind_nginx
from indexer import build_index
from indexer.index.snapshots import publish_index

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (make test installs it with apt-get)"),
]

NEW_WORD = "quokkafish"
QUERIES = ["drug tolerance", "photosynthesis light", "newton laws motion", "cold war origins", "hash table", NEW_WORD]


@pytest.fixture
def cluster(corpus_dir: Path, tmp_path: Path) -> Iterator[tuple[Nginx, list[Server], Path, Path]]:
    index, snapshots = tmp_path / "index", tmp_path / "snapshots"
    build_index(corpus_dir, index)
    publish_index(index, snapshots)
    with replicas_behind_nginx(snapshots, tmp_path, replicas=3, workers=1) as (nginx, replicas):
        yield nginx, replicas, index, snapshots


def test_stop_a_replica_and_publish_mid_run(cluster: tuple[Nginx, list[Server], Path, Path], corpus_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    """Clients keep searching while one replica stops and a new snapshot is published.

    The replica is stopped with SIGTERM (a deploy, a host shutdown): nginx
    retries the connections it refuses, so no client sees a failure. (After a
    kill -9, a response the replica had begun to send can be cut short, and no
    proxy can retry that; tests/bench/scale_out.py reports how often.)
    """
    nginx, replicas, index, snapshots = cluster
    failures: list[str] = []
    mixed: list[str] = []
    generations: set[int] = set()
    done = threading.Event()
    sent = [0]
    lock = threading.Lock()

    def client(offset: int) -> None:
        n = offset
        while not done.is_set() and sent[0] < 20_000:
            query = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                status, _, body = fetch(nginx.port, "/api/search?" + urllib.parse.urlencode({"q": query}))
            except (OSError, http.client.HTTPException) as error:
                failures.append(f"{query}: {error!r}")
                continue
            with lock:
                sent[0] += 1
            if status != 200:
                failures.append(f"{query}: HTTP {status}")
                continue
            data = json.loads(body)
            with lock:
                generations.add(data["generation"])
            if query == NEW_WORD and (data["total"] > 0) != (data["generation"] >= 2):
                mixed.append(f"generation {data['generation']} answered {data['total']} for the new article")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        replicas[0].stop()
        make_article(corpus_dir / "testing", slug="quokka", id=999_777, title=f"What is a {NEW_WORD}?")
        build_index(corpus_dir, index)
        publish_index(index, snapshots)
        published = time.monotonic()
        switched: dict[int, float] = {}
        while len(switched) < 2 and time.monotonic() - published < 10:
            for replica in replicas[1:]:
                if replica.port not in switched and replica.generation() == 2:
                    switched[replica.port] = time.monotonic() - published
            time.sleep(0.05)
        time.sleep(1.0)  # keep the load on after the switch
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    elapsed = time.monotonic() - started
    assert not failures, failures[:5]
    assert not mixed, mixed[:5]
    assert len(switched) == 2, "a live replica did not switch to the new snapshot within 10 s"
    assert max(switched.values()) < 5
    assert generations == {1, 2}
    assert sent[0] >= 1000
    print(f"\n{sent[0]} requests through nginx in {elapsed:.1f} s, 0 failed; "
          f"replicas switched {', '.join(f'{s:.2f}' for s in switched.values())} s after publishing")
