"""``/admin/insights``: the search analytics report for the site's maintainers.

Off (404, as if it did not exist) unless ``ARTICLE_SEARCH_ADMIN_TOKEN`` is set.
Then every admin url needs the token: ``Authorization: Bearer <token>`` for
scripts, or the login form, which sets a Secure, HttpOnly, SameSite=Strict
cookie holding an expiry signed with the token (never the token itself), so
changing the token logs everyone out. Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from indexer.analytics.nearest import nearest_in
from indexer.analytics.report import build_report
from indexer.analytics.store import StoreUnreadable
from webapp.admin_chart import day_chart
from webapp.params import clamped_int_arg
from webapp.search_index import get_service

__all__ = ["bp", "COOKIE", "SESSION_SECONDS"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

COOKIE = "article_search_admin"
SESSION_SECONDS = 8 * 3600
MAX_TOKEN = 1000


def _token() -> str:
    return str(current_app.config.get("ADMIN_TOKEN") or "")


@bp.before_request
def _guard() -> Any:
    """404 while no token is configured; 401 (the login form) without the token or a valid cookie."""
    token = _token()
    if not token:
        abort(404)
    if request.endpoint in ("admin.login", "admin.logout") or _authorised(token):
        return None
    return _login_page(401, "")


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/insights")
def insights() -> str:
    """The report: searches per day (a chart), top queries, content gaps, click-through, slowest."""
    days = clamped_int_arg("days", 30, 1, 365)
    path = Path(str(current_app.config["ANALYTICS_DB"]))
    problem = ""
    try:
        report = build_report([path] if path.is_file() else [], days, nearest_in(get_service()))
    except StoreUnreadable as error:
        problem, report = str(error), build_report([], days)
    report["databases"] = [str(path)]
    return render_template("admin_insights.html", report=report, chart=day_chart(report["per_day"]), problem=problem,
                           recording=current_app.extensions.get("article_search_analytics") is not None)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; the right token sets the session cookie and goes on to the report."""
    token = _token()
    if request.method == "GET":
        return redirect(url_for("admin.insights")) if _authorised(token) else _login_page(200, "")
    given = request.form.get("token", "")[:MAX_TOKEN]
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _login_page(401, "That token is not the one this site was given. Check ARTICLE_SEARCH_ADMIN_TOKEN.")
    response = redirect(url_for("admin.insights"), 303)
    expires = int(time.time()) + SESSION_SECONDS
    response.set_cookie(COOKIE, f"{expires}.{_sign(token, expires)}", max_age=SESSION_SECONDS, path="/admin",
                        secure=True, httponly=True, samesite="Strict")
    return response


@bp.post("/logout")
def logout() -> Any:
    response = redirect(url_for("admin.login"), 303)
    response.delete_cookie(COOKIE, path="/admin", secure=True, httponly=True, samesite="Strict")
    return response


def _authorised(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode()[:MAX_TOKEN], token.encode()):
        return True
    expires, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature.encode(), _sign(token, int(expires)).encode())


def _sign(token: str, expires: int) -> str:
    return hmac.new(token.encode(), f"article-search admin until {expires}".encode(), hashlib.sha256).hexdigest()


def _login_page(status: int, error: str) -> Response:
    response = Response(render_template("admin_login.html", error=error), status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="article-search admin"'
    return response
