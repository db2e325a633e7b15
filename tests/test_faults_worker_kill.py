"""A gunicorn worker killed with SIGKILL under load: its master starts another, and behind the kit's nginx no request fails.

Two replicas of two workers each serve a published snapshot behind nginx
configured from webapp/deploy/nginx.conf. Eight clients send 400 idempotent
GETs (searches, result pages, articles); a third of the way in, one worker of
one replica is killed with SIGKILL. The requests it held die with it: nginx
sees the connection reset and, as the kit's ``proxy_next_upstream error
timeout`` asks, sends each again to the other replica, so no client sees
the failure. Its master then forks a replacement.
"""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from support.servers import Nginx, Server, fetch, nginx_binary, replicas_behind_nginx
from indexer.index.snapshots import publish_index

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (make test installs it with apt-get)"),
]

CLIENTS = 8
REQUESTS = 400
PATHS = [
    "/api/search?" + urllib.parse.urlencode({"q": "drug tolerance"}),
    "/search?" + urllib.parse.urlencode({"q": "photosynthesis light"}),
    "/api/search?" + urllib.parse.urlencode({"q": "newton laws of motion", "page": 2}),
    "/search?" + urllib.parse.urlencode({"q": "cold war"}),
    "/api/suggest?q=tol",
]


def workers_of(master: int) -> set[int]:
    """The live worker processes of a gunicorn master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


@pytest.fixture
def cluster(index_dir: Path, tmp_path: Path) -> Iterator[tuple[Nginx, list[Server]]]:
    snapshots = tmp_path / "snapshots"
    publish_index(index_dir, snapshots)
    with replicas_behind_nginx(snapshots, tmp_path, replicas=2, workers=2) as running:
        yield running


def test_a_worker_killed_under_load_costs_no_request(cluster: tuple[Nginx, list[Server]]) -> None:
    nginx, replicas = cluster
    master = replicas[0].process.pid
    for path in PATHS:  # every worker has opened the index before the clock starts
        for _ in range(4):
            assert fetch(nginx.port, path)[0] == 200
    before = workers_of(master)
    assert len(before) == 2
    victim = min(before)
    failures: list[str] = []
    answered = [0]
    lock = threading.Lock()
    killed = threading.Event()

    def client(number: int) -> None:
        for n in range(REQUESTS // CLIENTS):
            path = PATHS[(number + n) % len(PATHS)]
            try:
                status, _, _ = fetch(nginx.port, path, timeout=20)
                if status != 200:
                    failures.append(f"{path}: {status}")
            except (OSError, http.client.HTTPException) as error:
                failures.append(f"{path}: {error!r}")
            with lock:
                answered[0] += 1
                if answered[0] == REQUESTS // 3:
                    os.kill(victim, signal.SIGKILL)  # mid-run, while the other clients' requests are in flight
                    killed.set()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    assert killed.is_set()
    assert answered[0] == REQUESTS
    assert failures == [], failures[:5]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (victim in workers_of(master) or len(workers_of(master)) < 2):
        time.sleep(0.1)
    after = workers_of(master)
    assert victim not in after and len(after) == 2, f"the master did not replace worker {victim}: {after}"
    assert replicas[0].generation() == 1  # the replica answers again, through its new worker too
    log = (nginx.folder / "error.log").read_text() if (nginx.folder / "error.log").exists() else ""
    retried = sum(1 for line in log.splitlines() if "upstream" in line and ("reset" in line or "prematurely" in line))
    print(f"\n{REQUESTS} requests from {CLIENTS} clients in {elapsed:.1f} s, worker {victim} killed -9 after "
          f"{REQUESTS // 3}: 0 failed; nginx retried {retried} request(s) on the other replica")
