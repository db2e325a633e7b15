"""Search analytics in one process: what is recorded, how a report counts it, and what never fails a search.

The web app is driven through Flask's test client over the shared sample index;
each test records into its own SQLite file (``ANALYTICS_DB``) and reads it back
with the same report ``article-search insights`` prints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from support import disks

from indexer.analytics.recorder import Recorder
from indexer.analytics.records import ClickRecord, SearchRecord, new_search_id
from indexer.analytics.report import build_report

TAB = "tab0123456789"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "analytics.sqlite3"


def make_client(sample_index: Path, db: Path, **config: Any) -> Any:
    from webapp import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(sample_index), "ANALYTICS_DB": str(db), **config})
    return app.test_client()


def settle(client: Any) -> None:
    """Wait until the app's recorder has written everything queued."""
    assert client.application.extensions["article_search_analytics"].flush(timeout=30)


def test_page_api_and_widget_searches_are_recorded_with_their_facts(sample_index: Path, db: Path) -> None:
    client = make_client(sample_index, db)
    assert client.get("/search?q=Drug++Tolerance%3F&subject=Medicine").status_code == 200
    body = client.get("/api/search?q=insulin&sort=newest").get_json()
    assert len(body["search_id"]) == 32
    client.get("/embed?q=drug")
    client.get("/search?q=toleranse")  # corrected
    client.get("/search?q=%20")  # nothing typed: not a search
    settle(client)
    rows = sqlite3.connect(db).execute("SELECT query, source, results, page, filters, corrected, typing, tab FROM searches ORDER BY at").fetchall()
    assert [row[:2] for row in rows] == [("drug tolerance", "page"), ("insulin", "api"), ("drug", "embed"), ("toleranse", "page")]
    assert json.loads(rows[0][4]) == {"subject": ["Medicine"], "year": [], "sort": "relevance"}
    assert json.loads(rows[1][4])["sort"] == "newest"
    assert rows[0][2] >= 1 and rows[3][5] == 1 and rows[0][5] == 0
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_nothing_about_the_reader_is_stored(sample_index: Path, db: Path) -> None:
    client = make_client(sample_index, db)
    response = client.get("/search?q=insulin", headers={"User-Agent": "Secret-Agent/1.0", "Cookie": "who=me"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "Set-Cookie" not in response.headers
    settle(client)
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "insulin" in dump
    assert not any(secret in dump for secret in ("Secret-Agent", "203.0.113.9", "who=me"))


def test_a_search_as_you_type_run_counts_once_as_its_longest_form(sample_index: Path, db: Path) -> None:
    client = make_client(sample_index, db)
    for typed in ["in", "ins", "insu", "insul", "insulin", "insulin p", "insulin"]:  # typed, then one backspace
        client.get(f"/api/search?q={typed}&typing=1&tab={TAB}")
    for typed in ["ho", "homeo"]:  # another tab at the same time
        client.get(f"/api/search?q={typed}&typing=1&tab=othertab0001")
    client.get(f"/api/search?q=photosynthesis&typing=1&tab={TAB}")  # a new search in the first tab
    settle(client)
    report = build_report([db], 1)
    assert report["searches"] == 3
    assert sorted((row["query"], row["searches"]) for row in report["top_queries"]) == [
        ("homeo", 1), ("insulin p", 1), ("photosynthesis", 1),
    ]
    assert {row[0] for row in sqlite3.connect(db).execute("SELECT source FROM searches")} == {"widget"}


def test_clicks_tie_to_their_search_once_each_and_later_pages_are_not_new_searches(sample_index: Path, db: Path) -> None:
    client = make_client(sample_index, db)
    first = client.get("/api/search?q=drug&per_page=3").get_json()
    second = client.get("/api/search?q=drug&per_page=3&page=2").get_json()
    url = f"/api/click?search={first['search_id']}&position=2&article={first['results'][1]['id']}"
    assert client.post(url).status_code == 204
    assert client.post(url, data="PING", content_type="text/ping").status_code == 204  # the link's ping as well
    assert client.post(f"/api/click?search={second['search_id']}&position=4&article={second['results'][0]['id']}").status_code == 204
    client.get("/api/search?q=drug&per_page=3")  # searched again, nothing opened
    settle(client)
    report = build_report([db], 1)
    assert report["top_queries"][0] == {**report["top_queries"][0], "query": "drug", "searches": 2, "clicks": 2, "click_through": 0.5}
    assert report["click_through"] == {"searches_with_results": 2, "searches_clicked": 1, "rate": 0.5, "clicks": 2, "mean_position": 3.0}


@pytest.mark.parametrize("query", ["search=abc&position=1&article=1", "search={sid}&position=0&article=1",
                                   "search={sid}&position=1", "search={sid}&position=x&article=1"])
def test_a_bad_click_is_a_400_that_says_what_to_send(sample_index: Path, db: Path, query: str) -> None:
    client = make_client(sample_index, db)
    response = client.post("/api/click?" + query.format(sid=new_search_id()))
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400 and "position" in body["error"]
    assert client.get(f"/api/click?search={new_search_id()}&position=1&article=1").get_json()["ok"] is False  # not a click


def test_off_records_nothing(sample_index: Path, db: Path) -> None:
    client = make_client(sample_index, db, ANALYTICS="off")
    body = client.get("/api/search?q=insulin").get_json()
    assert body["search_id"] is None
    assert "ping=" not in client.get("/search?q=insulin").get_data(as_text=True)
    assert client.post(f"/api/click?search={new_search_id()}&position=1&article=1").status_code == 204
    assert not db.exists()


def test_records_older_than_the_retention_are_deleted(db: Path) -> None:
    recorder = Recorder(db, days=2)
    old, recent = time.time() - 3 * 86400, time.time() - 86400
    recorder.record(SearchRecord(new_search_id(), "old query", "page", 1, at=old))
    recorder.record(SearchRecord(new_search_id(), "recent query", "page", 1, at=recent))
    recorder.record(ClickRecord(new_search_id(), 1, 1, at=old))
    assert recorder.flush()
    database = sqlite3.connect(db)
    assert database.execute("SELECT query FROM searches").fetchall() == [("recent query",)]
    assert database.execute("SELECT count(*) FROM clicks").fetchone() == (0,)


@pytest.mark.parametrize("damage", ["not a database", "a folder", "locked"])
def test_a_broken_or_locked_database_never_fails_a_search_and_is_logged_once(
    sample_index: Path, db: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    db.parent.mkdir(parents=True)
    holder = None
    if damage == "not a database":
        db.write_bytes(b"this is not SQLite at all" * 100)
    elif damage == "a folder":
        db.mkdir()
    else:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
    client = make_client(sample_index, db)
    client.application.extensions["article_search_analytics"].pause_seconds = 0  # retry at once: still logged once
    with caplog.at_level(logging.ERROR, logger="indexer.analytics.recorder"):
        for number in range(3):
            assert client.get(f"/search?q=insulin+{number}").status_code == 200
            assert client.get(f"/api/search?q=drug+{number}").get_json()["ok"] is True
            settle(client)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1, [record.getMessage() for record in errors]
    assert "searches are unaffected" in errors[0].getMessage()
    if holder is not None:
        holder.rollback() if holder.in_transaction else None
        holder.close()


def test_a_full_queue_drops_records_without_blocking(db: Path) -> None:
    db.parent.mkdir(parents=True)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN EXCLUSIVE")  # the writer waits on this lock while records pile up
    recorder = Recorder(db, queue_size=5, flush_seconds=0)  # one record a batch: the writer blocks at once
    for _ in range(200):
        recorder.record(SearchRecord(new_search_id(), "q", "api", 1))
    assert recorder.dropped >= 190
    holder.rollback()
    holder.close()


def test_insights_reads_several_databases_at_once(tmp_path: Path, sample_index: Path) -> None:
    from webapp.cli import cli

    paths = [tmp_path / "replica-1.sqlite3", tmp_path / "replica-2.sqlite3"]
    for number, path in enumerate(paths):
        recorder = Recorder(path)
        for _ in range(number + 1):
            recorder.record(SearchRecord(new_search_id(), "insulin", "page", 2))
        recorder.record(SearchRecord(new_search_id(), f"only on replica {number + 1}", "page", 0))
        assert recorder.flush()
    args = ["insights", "--index", str(sample_index), "--db", str(paths[0]), "--db", str(paths[1])]
    result = CliRunner().invoke(cli, [*args, "--json", "--days", "7"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["searches"] == 5 and len(report["per_day"]) == 7 and report["per_day"][-1]["searches"] == 5
    assert report["top_queries"][0]["query"] == "insulin" and report["top_queries"][0]["searches"] == 3
    assert {row["query"] for row in report["gaps"]["no_results"]} == {"only on replica 1", "only on replica 2"}
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0 and "Content gaps: no results" in text.stdout and "only on replica 2" in text.stdout


def test_insights_without_a_database_fails_in_one_line(tmp_path: Path) -> None:
    from webapp.cli import cli

    result = CliRunner().invoke(cli, ["insights", "--db", str(tmp_path / "missing.sqlite3"), "--index", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: no analytics database at") and "--db" in lines[-1]
    assert CliRunner().invoke(cli, ["insights", "--days", "0"]).exit_code == 2


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of our own, to fill up."""
    with disks.small_disk(tmp_path / "small-disk", 4) as mount:
        yield mount


def test_a_full_disk_pauses_recording_until_there_is_room_again(
    sample_index: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = small_disk / "analytics.sqlite3"
    client = make_client(sample_index, db)
    recorder = client.application.extensions["article_search_analytics"]
    recorder.pause_seconds = 0
    client.get("/search?q=insulin")
    settle(client)
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:  # every free block taken
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
    with caplog.at_level(logging.ERROR, logger="indexer.analytics.recorder"):
        for number in range(10):
            long_query = f"insulin {number} " + "word " * 60
            assert client.get("/api/search", query_string={"q": long_query}).status_code == 200
        settle(client)
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and "full" in errors[0]
    filler.unlink()
    client.get("/search?q=after+the+disk+was+freed")
    settle(client)
    assert "after the disk was freed" in [row["query"] for row in build_report([db], 1)["top_queries"]]
