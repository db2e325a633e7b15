"""The factory, configuration, a missing index, live rebuilds, and the `serve` command's set-up."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from indexer import build_index, update_index
from webapp import create_app
from webapp.cli import cli
from webapp.search_index import EXTENSION
from webapp.server import GunicornServer, ServeError, gunicorn_options, serve


def test_factory_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARTICLE_SEARCH_INDEX", raising=False)
    monkeypatch.delenv("ARTICLE_SEARCH_CORPUS", raising=False)
    app = create_app()
    assert app.config["INDEX_DIR"] == "var/index"
    assert not app.debug
    monkeypatch.setenv("ARTICLE_SEARCH_INDEX", "/srv/index")
    monkeypatch.setenv("ARTICLE_SEARCH_REFRESH_SECONDS", "5")
    app = create_app()
    assert app.config["INDEX_DIR"] == "/srv/index"
    assert app.config["REFRESH_SECONDS"] == 5
    assert create_app({"INDEX_DIR": "/tmp/x"}).config["INDEX_DIR"] == "/tmp/x", "the test mapping wins"


def test_the_refresh_setting_reaches_the_search_service(
    corpus_dir: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the environment to the searchers: an hour's refresh keeps the old generation; 0 sees the new one at once."""
    monkeypatch.setenv("ARTICLE_SEARCH_INDEX", str(index_dir))
    monkeypatch.setenv("ARTICLE_SEARCH_REFRESH_SECONDS", "3600")
    slow = create_app().test_client()
    monkeypatch.setenv("ARTICLE_SEARCH_REFRESH_SECONDS", "0")
    eager = create_app().test_client()
    for client in (slow, eager):
        assert client.get("/api/search?q=tolerance").headers["X-Index-Generation"] == "1"
    build_index(corpus_dir, index_dir)
    assert slow.get("/api/search?q=tolerance").headers["X-Index-Generation"] == "1", "checked again within the hour"
    assert eager.get("/api/search?q=tolerance").headers["X-Index-Generation"] == "2"


def test_each_app_has_its_own_service(tmp_path: Path) -> None:
    one, two = create_app({"INDEX_DIR": str(tmp_path / "a")}), create_app({"INDEX_DIR": str(tmp_path / "b")})
    assert one.extensions[EXTENSION] is not two.extensions[EXTENSION]


@pytest.mark.parametrize("path", ["/", "/search?q=drug", "/learn/medicine/questions/x"])
def test_missing_index_pages_say_how_to_build_it(tmp_path: Path, path: str) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "build the index with `article-search index build`" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize("path", ["/api/search?q=drug", "/api/suggest?q=d", "/api/articles/1", "/healthz"])
def test_missing_index_api_is_json_503(tmp_path: Path, path: str) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get(path)
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 503
    assert "build the index with `article-search index build`" in body["error"]


def test_unreadable_index_is_503_not_500(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "CURRENT").write_text("{not json", encoding="utf-8")
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client()
    assert client.get("/search?q=drug").status_code == 503
    assert "rebuild the index" in client.get("/healthz").get_json()["error"]


def test_index_built_after_start_is_picked_up(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "later"
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "REFRESH_SECONDS": 0}).test_client()
    assert client.get("/healthz").status_code == 503
    build_index(corpus_dir, index)
    assert client.get("/healthz").status_code == 200


def _search_ids(client: Any, q: str) -> list[int]:
    return [hit["id"] for hit in client.get("/api/search", query_string={"q": q}).get_json()["results"]]


def test_rebuild_shows_new_article_without_restart(
    corpus_dir: Path, index_dir: Path, make_article: Callable[..., Path]
) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "REFRESH_SECONDS": 0})
    client = app.test_client()
    assert _search_ids(client, "zymurgy") == []
    generation = client.get("/healthz").get_json()["generation"]
    make_article(
        corpus_dir / "chemistry", slug="what-is-zymurgy", id=990001, title="What is zymurgy?",
        answer="Zymurgy is the chemistry of fermentation.", url="/learn/chemistry/questions/what-is-zymurgy",
    )
    build_index(corpus_dir, index_dir)
    assert _search_ids(client, "zymurgy") == [990001]
    assert client.get("/healthz").get_json()["generation"] > generation
    assert client.get("/learn/chemistry/questions/what-is-zymurgy").status_code == 200
    (corpus_dir / "chemistry" / "what-is-zymurgy.md").unlink()
    update_index(corpus_dir, index_dir)
    assert _search_ids(client, "zymurgy") == []
    assert client.get("/learn/chemistry/questions/what-is-zymurgy").status_code == 404


def test_rebuild_is_seen_within_the_default_refresh(
    corpus_dir: Path, index_dir: Path, make_article: Callable[..., Path]
) -> None:
    """With the production setting (checked about once a second) a rebuild shows up shortly."""
    client = create_app({"TESTING": True, "INDEX_DIR": str(index_dir)}).test_client()
    assert _search_ids(client, "zymurgy") == []
    make_article(corpus_dir / "chemistry", slug="zymurgy", id=990002, title="Zymurgy", url="/learn/chemistry/questions/zymurgy")
    build_index(corpus_dir, index_dir)
    deadline = time.monotonic() + 5
    while _search_ids(client, "zymurgy") != [990002]:
        assert time.monotonic() < deadline, "the new article never appeared"
        time.sleep(0.1)


def test_gunicorn_settings() -> None:
    options = gunicorn_options("127.0.0.1", 8123, 3)
    assert options["bind"] == ["127.0.0.1:8123"] and options["workers"] == 3
    assert gunicorn_options("::1", 80, 1)["bind"] == ["[::1]:80"]
    server = GunicornServer(create_app(), options)
    assert server.cfg.workers == 3 and server.cfg.bind == ["127.0.0.1:8123"]
    assert server.load() is server.application


def test_serve_refuses_a_busy_port_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServeError, match=r"stop the other server or pass --port"):
            serve(port=port)
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert "stop the other server or pass --port" in result.output


def test_serve_has_help() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--index", "--corpus", "Example:"):
        assert option in result.output
