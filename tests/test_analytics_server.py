"""Search analytics through the real server: `article-search serve --workers 2`, then `article-search insights`.

Searches arrive as people make them (the search page, the JSON API, the
widget's keystroke requests with a tab id) and clicks as browsers send them
(a result link's ping, the widget's beacon), spread over two gunicorn
workers writing one SQLite file. The report is read by the real command.
The index ranks by meaning, so a query that matches no word still has
nearest articles. A kill -9 of the server loses at most the last second.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.corpora import copy_corpus_and_index
from support.processes import run_cli
from support.servers import Server, fetch, start_server

TAB = "tabfortests01"
DIABETES_ID = 500010  # "What is the difference between type 1 and type 2 diabetes?"


@pytest.fixture(scope="module")
def meaning_index(semantic_sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus indexed with article vectors and the query encoder (the module's copy)."""
    return copy_corpus_and_index(semantic_sample, tmp_path_factory.mktemp("analytics-server"))[1]


@pytest.fixture(scope="module")
def served(meaning_index: Path) -> Iterator[tuple[Server, Path]]:
    """One server for the module (the kill test, last, ends it); its analytics file beside the index."""
    db = meaning_index.parent / "analytics.sqlite3"
    server = start_server(meaning_index, log=meaning_index.parent / "server.log", workers=2,
                          env={"ARTICLE_SEARCH_ANALYTICS_DB": str(db)})
    with server:
        yield server, db


def post(port: int, target: str, body: bytes = b"", content_type: str = "text/plain") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def api(server: Server, target: str) -> dict[str, Any]:
    status, _, body = fetch(server.port, target)
    assert status == 200, body
    return dict(json.loads(body))


def stored_searches(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as database:
        try:
            return int(database.execute("SELECT count(*) FROM searches").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def wait_for_searches(db: Path, count: int, seconds: float = 10) -> None:
    """Records are written off the request path, within a fraction of a second: wait for them."""
    deadline = time.monotonic() + seconds
    while stored_searches(db) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_searches(db) == count


def test_searches_and_clicks_through_the_real_server_appear_in_insights(served: tuple[Server, Path], meaning_index: Path) -> None:
    server, db = served
    # Two page searches; the first one's top result is opened as Chromium does it, by the link's ping.
    status, _, page = fetch(server.port, "/search?q=Drug+tolerance")
    fetch(server.port, "/search?q=drug%20tolerance%3F")
    link = re.search(r'<a href="([^"]+)" ping="([^"]+)">', page.decode())
    assert link is not None and link.group(1).startswith("/learn/")  # the result keeps its real href
    assert post(server.port, html.unescape(link.group(2)), b"PING", "text/ping") == 204
    # The widget: keystrokes of one tab's run, then the result opened by its beacon.
    for typed in ["di", "diab", "diabetes", "diabetes typ", "diabetes type"]:
        body = api(server, f"/api/search?q={typed.replace(' ', '+')}&typing=1&tab={TAB}&per_page=5")
    first = body["results"][0]
    assert post(server.port, f"/api/click?search={body['search_id']}&position=1&article={first['id']}") == 204
    # A script's search, and a query no article has a word of.
    api(server, "/api/search?q=insulin")
    fetch(server.port, "/search?q=zorblax")
    wait_for_searches(db, 2 + 5 + 1 + 1)

    result = run_cli("insights", "--json", "--db", str(db), "--index", str(meaning_index))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["searches"] == 5  # the five keystrokes are one search
    counts = {row["query"]: (row["searches"], row["clicks"]) for row in report["top_queries"]}
    assert counts == {"drug tolerance": (2, 1), "diabetes type": (1, 1), "insulin": (1, 0), "zorblax": (1, 0)}
    assert report["per_day"][-1]["searches"] == 5
    assert report["click_through"] == {"searches_with_results": 4, "searches_clicked": 2, "rate": 0.5, "clicks": 2, "mean_position": 1.0}
    [gap] = report["gaps"]["no_results"]
    assert (gap["query"], gap["searches"], gap["results"]) == ("zorblax", 1, 0)
    assert gap["last_seen"].startswith(report["per_day"][-1]["date"])
    assert len(gap["nearest"]) == 3 and all(near["url"].startswith("/learn/") and near["title"] for near in gap["nearest"])
    assert [row["query"] for row in report["gaps"]["not_opened"]] == ["insulin"]
    # Results nobody opened come with their nearest articles: the one about diabetes is there for "insulin".
    assert DIABETES_ID in [near["id"] for near in report["gaps"]["not_opened"][0]["nearest"]]
    assert {row["query"] for row in report["slowest"]} == set(counts)


def test_a_kill_9_loses_at_most_the_last_second_and_never_corrupts_the_database(served: tuple[Server, Path]) -> None:
    server, db = served
    for number in range(40):
        api(server, f"/api/search?q=before+kill+{number}")
    time.sleep(1.0)  # the promise: what was answered a second before the kill is on disk
    stop = threading.Event()

    def keep_searching() -> None:  # writes in flight when the kill lands
        number = 0
        while not stop.is_set():
            try:
                fetch(server.port, f"/api/search?q=during+kill+{number}", timeout=2)
            except OSError:
                return
            number += 1

    clients = [threading.Thread(target=keep_searching) for _ in range(3)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    server.kill()
    stop.set()
    for client in clients:
        client.join()
    copy = db.with_name("after-kill.sqlite3")
    for suffix in ("", "-wal", "-shm"):  # as the next server (or a backup) would find the files
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
    with sqlite3.connect(copy) as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        before = {row[0] for row in database.execute("SELECT query FROM searches WHERE query LIKE 'before kill %'")}
    assert before == {f"before kill {number}" for number in range(40)}
