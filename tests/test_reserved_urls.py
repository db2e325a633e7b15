"""An article whose url one of the site's own routes answers would be hidden: it is refused, and why.

The routes are read from the web app's url map (webapp/routes.py), so a route
added to the app is reserved with no list to keep in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from webapp import create_app
from webapp.cli import cli
from webapp.routes import ARTICLE_ENDPOINT, reserved_by


def plain_routes() -> list[str]:
    app = create_app({"TESTING": True, "INDEX_DIR": "/nonexistent"})
    return sorted(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != ARTICLE_ENDPOINT and "<" not in rule.rule)


def test_every_route_of_the_url_map_is_reserved_and_articles_are_not() -> None:
    routes = plain_routes()
    assert {"/", "/search", "/embed.js", "/opensearch/suggest", "/openapi.json"} <= set(routes)
    assert [route for route in routes if reserved_by(route) is None] == []
    assert reserved_by("/static/style.css") is not None and reserved_by("/api/anything/else") is not None
    assert reserved_by("/learn/medicine/questions/what-is-inflation") is None


@pytest.mark.parametrize("url", ["/opensearch/suggest", "/openapi.json", "/search", "/api/search"])
def test_index_check_and_build_refuse_an_article_a_route_would_hide(
    url: str, corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path]
) -> None:
    make_article(corpus_dir / "testing", slug="behind-a-route", id=990_990, url=url)
    checked = CliRunner().invoke(cli, ["index", "check", "--corpus", str(corpus_dir)])
    assert checked.exit_code == 1
    assert f"testing/behind-a-route.md: 'url' {url!r} is taken by" in checked.stdout
    built = CliRunner().invoke(cli, ["index", "build", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(tmp_path / "ix")])
    assert built.exit_code == 0 and "skipped testing/behind-a-route.md" in built.output
