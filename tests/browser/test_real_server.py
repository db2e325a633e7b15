"""Hostile requests through the real server (gunicorn), where the HTTP parsing is not Werkzeug's test client."""

from __future__ import annotations

import http.client
import json
import re
import socket
from typing import Any
from urllib.parse import quote, urlsplit

import pytest


#: The pages' own scripts (the search box), the only <script> a page may hold.
OWN_SCRIPT = re.compile(rb'<script src="/static/[\w.-]+\.js(?:\?v=[0-9a-f]+)?" defer></script>')


def fetch(base: str, target: str) -> tuple[int, str, bytes]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def raw_request(base: str, request_line: bytes) -> bytes:
    """Send bytes no HTTP client library would (raw non-ASCII, NUL) and return the whole answer."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30) as sock:
        sock.sendall(request_line + b"\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("endpoint", ["/api/search", "/search", "/api/suggest"])
def test_six_thousand_character_query_is_answered_by_the_app(live_server: str, endpoint: str) -> None:
    # 7,200 bytes once encoded: under gunicorn's 8,190-byte request line (longer lines get its 400).
    status, kind, body = fetch(live_server, f"{endpoint}?q=" + quote("tolerance " * 600))
    assert status == 200
    if endpoint.startswith("/api/"):
        assert kind == "application/json" and json.loads(body)["ok"] is True
    else:
        assert kind.startswith("text/html")


@pytest.mark.parametrize(
    "target",
    ["/api/search?q=%ff%fe", "/search?q=%ff%fe", "/api/search?q=%00%01", "/search?q=%22(&page=-1&per_page=0",
     "/api/search?q=drug&page=1000000000", "/%ff", "/api/articles/%ff"],
)
def test_hostile_targets_never_500(live_server: str, target: str) -> None:
    status, _, body = fetch(live_server, target)
    assert status < 500
    assert b"<script" not in OWN_SCRIPT.sub(b"", body).lower()


@pytest.mark.parametrize("line", [b"GET /search?q=\xff\xfe\xc3 HTTP/1.1", b"GET /api/search?q=caf\xc3\xa9 HTTP/1.1"])
def test_raw_non_ascii_request_lines_never_500(live_server: str, line: bytes) -> None:
    answer = raw_request(live_server, line)
    status = int(answer.split(b" ", 2)[1])
    assert status < 500, answer[:300]


def test_security_headers_through_gunicorn(live_server: str) -> None:
    parts = urlsplit(live_server)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("GET", "/search?q=drug")
    response: Any = connection.getresponse()
    response.read()
    connection.close()
    assert response.getheader("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy")
    assert response.getheader("Link") == '</api/search?q=drug>; rel="alternate"; type="application/json"'
    assert response.getheader("Server", "").startswith("gunicorn")
