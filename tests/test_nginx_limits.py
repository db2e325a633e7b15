"""The deploy kit's nginx against abusive clients, for real on loopback: a flood and a slowloris.

nginx runs from the kit's own ``webapp/deploy/nginx.conf`` (only the ports
changed, see ``support.servers.start_nginx``) in front of one ``article-search serve``.
Two client addresses share loopback: 127.0.0.2 misbehaves, 127.0.0.1 is an
ordinary user, each by binding its socket's source address. Every loop is
bounded by a request count or a deadline, and nothing waits on a bare sleep.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from support.servers import KIT, Nginx, Server, fetch, nginx_binary, start_nginx, start_server
from helpers import wait_for
from indexer import build_index
from indexer.index.snapshots import publish_index

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (make test installs it with apt-get)"),
]

USER, ABUSER = "127.0.0.1", "127.0.0.2"
QUERIES = ["drug tolerance", "photosynthesis light", "newton laws motion", "cold war origins", "hash table"]


def kit_setting(pattern: str) -> float:
    """A number from the kit's nginx.conf, so the test follows the shipped values."""
    found = re.search(pattern, KIT.read_text("utf-8"))
    assert found, pattern
    return float(found.group(1))


RATE = kit_setting(r"zone=article_search_requests:\S+ rate=(\d+)r/s")
BURST = int(kit_setting(r"limit_req zone=article_search_requests burst=(\d+)"))
HEADER_TIMEOUT = kit_setting(r"client_header_timeout (\d+)s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """One replica behind the kit's nginx, shared by this module's tests."""
    from helpers import SAMPLE_CORPUS

    root = tmp_path_factory.mktemp("limits")
    build_index(SAMPLE_CORPUS, root / "index")
    publish_index(root / "index", root / "snapshots")
    replica: Server | None = None
    nginx: Nginx | None = None
    try:
        replica = start_server(index_from=root / "snapshots", log=root / "replica.log", workers=2)
        nginx = start_nginx(root / "nginx", [replica.port])
        yield nginx
    finally:
        if nginx is not None:
            nginx.stop()
        if replica is not None:
            replica.kill()


def search_url(n: int) -> str:
    return "/api/search?" + urllib.parse.urlencode({"q": QUERIES[n % len(QUERIES)]})


def test_flooding_address_gets_429_while_another_address_searches(served: Nginx) -> None:
    """127.0.0.2 floods; 127.0.0.1's searches, fewer than a burst, all succeed meanwhile."""
    statuses: dict[int, int] = {}
    limited_bodies: list[tuple[bytes, str | None]] = []
    errors: list[str] = []
    user_done = threading.Event()
    lock = threading.Lock()
    max_flood = 5000

    def flood() -> None:
        while not user_done.is_set():
            with lock:
                if sum(statuses.values()) >= max_flood:
                    return
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10, source_address=(ABUSER, 0))
            try:
                connection.request("GET", "/api/search?q=drug+tolerance")
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors.append(repr(error))
                continue
            finally:
                connection.close()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 429 and len(limited_bodies) < 3:
                    limited_bodies.append((body, response.getheader("Retry-After")))

    started = time.monotonic()
    flooders = [threading.Thread(target=flood) for _ in range(6)]
    for thread in flooders:
        thread.start()
    user_statuses: list[int] = []
    try:
        assert wait_for(lambda: statuses.get(429, 0) > 0, timeout=30), f"no 429 while flooding: {statuses}"
        # The ordinary user searches while the flood goes on: fewer requests than a burst, so
        # its own allowance can never run out, whatever the timing; only the flood's could leak.
        for n in range(BURST // 2):
            status, _, body = fetch(served.port, search_url(n), source=USER)
            user_statuses.append(status)
            assert status != 200 or json.loads(body)["ok"] is True
    finally:
        user_done.set()
        for thread in flooders:
            thread.join(timeout=60)
    elapsed = time.monotonic() - started
    assert user_statuses == [200] * (BURST // 2), f"the other address was refused: {user_statuses}"
    assert not errors, errors[:3]
    assert set(statuses) <= {200, 429}, statuses
    # A leaky bucket: the burst at once, then RATE a second (+1 for the bucket's first slot).
    assert statuses[200] <= BURST + RATE * elapsed + 3, (statuses, elapsed)
    assert statuses[429] > 0
    body, retry_after = limited_bodies[0]
    assert json.loads(body) == {
        "ok": False, "error": "too many requests from your address: wait a second, then try again", "status": 429,
    }
    assert retry_after == "1"
    print(f"\nflood from {ABUSER}: {statuses} in {elapsed:.1f} s; {USER}: {len(user_statuses)} searches, all 200")


class Stalled:
    """Connections that send an unfinished request and trickle one header byte at a time."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ABUSER, 0))
            sock.sendall(b"GET /api/search?q=drug HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            self.sockets.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(0.5):
            for sock in self.sockets:
                try:
                    sock.sendall(b"x")
                except OSError:
                    pass  # nginx has closed it (the point of client_header_timeout)

    def open_count(self) -> int:
        """How many of the connections nginx still holds open."""
        still = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                if sock.recv(1):  # nginx never answers an unfinished request: data here is a bug
                    raise AssertionError("nginx answered a request whose headers never ended")
            except BlockingIOError:
                still += 1
            except OSError:
                pass
        return still

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


def test_stalled_connections_do_not_starve_searches(served: Nginx) -> None:
    """60 connections trickling headers from one address; searches from another still answer at once.

    Straight to gunicorn, 30 such connections were measured to time out every
    search for 8 s (its threads block reading the trickled headers); nginx reads
    headers itself and closes them after client_header_timeout.
    """
    stalled = Stalled(served.port, 60)
    try:
        assert wait_for(lambda: stalled.open_count() == 60, timeout=5)
        slowest = 0.0
        for n in range(30):
            started = time.monotonic()
            status, _, body = fetch(served.port, search_url(n), timeout=10, source=USER)
            slowest = max(slowest, time.monotonic() - started)
            assert status == 200 and json.loads(body)["ok"] is True
        assert slowest < 5, f"a search took {slowest:.1f} s while connections were stalled"
        assert stalled.open_count() == 60, "the searches ran while every stalled connection was held"
        # nginx drops the trickling clients once client_header_timeout has passed since they connected.
        assert wait_for(lambda: stalled.open_count() == 0, timeout=HEADER_TIMEOUT + 10), stalled.open_count()
    finally:
        stalled.close()
    print(f"\n60 stalled connections held; 30 searches from {USER}, slowest {slowest * 1000:.0f} ms")
