"""/admin/insights: absent without a token setting, closed without the token, the report with it."""

from __future__ import annotations

import re

import time
from pathlib import Path
from typing import Any

import pytest

TOKEN = "s3cret-token-1e3"  # would be read as a number by from_prefixed_env's JSON: kept as typed


def make_client(sample_index: Path, tmp_path: Path, **config: Any) -> Any:
    from webapp import create_app

    return create_app({"INDEX_DIR": str(sample_index), "ANALYTICS_DB": str(tmp_path / "a.sqlite3"), **config}).test_client()


@pytest.mark.parametrize("method, url", [("GET", "/admin/insights"), ("GET", "/admin/login"), ("POST", "/admin/login"),
                                         ("POST", "/admin/logout"), ("GET", "/admin/insights?days=7")])
def test_without_the_setting_every_admin_url_is_a_404(sample_index: Path, tmp_path: Path, method: str, url: str) -> None:
    client = make_client(sample_index, tmp_path)
    response = client.open(url, method=method, headers={"Authorization": f"Bearer {TOKEN}"}, data={"token": TOKEN})
    assert response.status_code == 404
    assert "Search insights" not in response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer"}, {"Cookie": "article_search_admin=99999999999.forged"},
                                     {"Authorization": f"Bearer {TOKEN}x"}])
def test_without_the_token_it_is_a_401_with_the_login_form(sample_index: Path, tmp_path: Path, headers: dict[str, str]) -> None:
    client = make_client(sample_index, tmp_path, ADMIN_TOKEN=TOKEN)
    response = client.get("/admin/insights", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert 'name="token"' in body and "Top queries" not in body


def test_the_bearer_token_gives_the_report(sample_index: Path, tmp_path: Path) -> None:
    client = make_client(sample_index, tmp_path, ADMIN_TOKEN=TOKEN)
    client.get("/search?q=zorblax")
    client.get("/search?q=drug+tolerance")
    assert client.application.extensions["article_search_analytics"].flush()
    response = client.get("/admin/insights?days=7", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Robots-Tag"] == "noindex"
    body = response.get_data(as_text=True)
    assert "2 searches in the last 7 days" in body
    assert body.count('class="chart-bar"') == 7
    # No inline script: the only scripts are the search box's own files, as on every page.
    assert "<script" not in re.sub(r'<script src="/static/[\w.-]+\.js\?v=[0-9a-f]+" defer></script>', "", body)
    assert "zorblax" in body.split('id="gaps-empty"')[1].split("</table>")[0]


def test_the_login_form_sets_a_signed_expiring_cookie(sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(sample_index, tmp_path, ADMIN_TOKEN=TOKEN)
    wrong = client.post("/admin/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "not the one" in wrong.get_data(as_text=True) and "Set-Cookie" not in wrong.headers
    right = client.post("/admin/login", data={"token": TOKEN})
    assert right.status_code == 303 and right.headers["Location"].endswith("/admin/insights")
    cookie = right.headers["Set-Cookie"]
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=28800"))
    assert TOKEN not in cookie
    assert client.get("/admin/insights").status_code == 200
    assert client.get("/admin/login").status_code == 302  # signed in already: on to the report
    monkeypatch.setattr(time, "time", lambda: 10**10)  # the cookie's expiry has passed
    assert client.get("/admin/insights").status_code == 401
    monkeypatch.undo()
    client.post("/admin/logout")
    assert client.get("/admin/insights").status_code == 401


def test_a_changed_token_signs_everyone_out(sample_index: Path, tmp_path: Path) -> None:
    client = make_client(sample_index, tmp_path, ADMIN_TOKEN=TOKEN)
    client.post("/admin/login", data={"token": TOKEN})
    client.application.config["ADMIN_TOKEN"] = "another token"
    assert client.get("/admin/insights").status_code == 401


def test_the_token_is_read_from_the_environment_as_typed(sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from webapp import create_app

    monkeypatch.setenv("ARTICLE_SEARCH_ADMIN_TOKEN", "1e3")
    client = create_app({"INDEX_DIR": str(sample_index)}).test_client()
    assert client.get("/admin/insights", headers={"Authorization": "Bearer 1e3"}).status_code == 200
    assert client.get("/admin/insights", headers={"Authorization": "Bearer 1000.0"}).status_code == 401
