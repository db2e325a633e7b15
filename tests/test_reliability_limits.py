"""Cost limits, security headers, production mode and the server's disk, through the real gunicorn server.

Raw sockets and http.client send exactly the bytes under test: HTTP client
libraries would normalise ``..`` and percent-escapes away.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import webapp
from support import ROOT
from support.processes import rss_kb
from support.servers import Server, start_server
from webapp.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
SECRET = "planted-secret-7f3a9c"


@pytest.fixture(scope="module")
def server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("limits")
    with start_server(sample_index, log=work / "server.log", workers=2) as running:
        yield running


def raw(port: int, data: bytes, timeout: float = 10) -> tuple[bytes, float]:
    """Send ``data`` (as far as the server reads it) and return its whole answer and the seconds taken."""
    started = time.monotonic()
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server answered and hung up before reading it all: what we want
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks), time.monotonic() - started


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def request(target: bytes, *headers: bytes, method: bytes = b"GET", body: bytes = b"") -> bytes:
    head = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *headers, b"Connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


# -- cost limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data",
    [
        ("too many headers", request(b"/healthz", *[b"X-Filler-%d: 1" % n for n in range(LIMIT_REQUEST_FIELDS + 5)])),
        ("one huge header", request(b"/healthz", b"X-Huge: " + b"a" * (LIMIT_REQUEST_FIELD_SIZE + 100))),
        ("huge cookie", request(b"/search?q=drug", b"Cookie: " + b"c=" * 6000)),
        ("request line over the limit", request(b"/api/search?q=" + b"a" * (LIMIT_REQUEST_LINE + 10))),
    ],
)
def test_heads_over_the_limits_are_refused_quickly(server: Server, name: str, data: bytes) -> None:
    answer, seconds = raw(server.port, data)
    assert 400 <= status_of(answer) < 500, answer[:200]
    assert seconds < 3


def test_a_huge_request_line_costs_the_worker_nothing(server: Server) -> None:
    """8 MB of request line: refused after the first 8 KB, no CPU burnt and no memory kept."""
    workers = server.worker_pids()
    before = sum(rss_kb(pid) for pid in workers)
    answer, seconds = raw(server.port, b"GET /api/search?q=" + b"a" * (8 * 1024 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert 400 <= status_of(answer) < 500 and seconds < 3
    assert sum(rss_kb(pid) for pid in workers) - before < 8 * 1024
    assert server.worker_pids() == workers


@pytest.mark.parametrize("method", [b"GET", b"POST", b"PUT"])
@pytest.mark.parametrize("target", [b"/api/search?q=drug", b"/search?q=drug"])
def test_request_bodies_are_refused_unread(server: Server, method: bytes, target: bytes) -> None:
    body = b"x" * (2 * 1024 * 1024)
    answer, seconds = raw(server.port, request(target, b"Content-Length: %d" % len(body), method=method, body=body))
    assert status_of(answer) == 413, answer[:300]
    assert seconds < 3
    if target.startswith(b"/api/"):
        assert b'"ok":false' in answer.replace(b" ", b"") and b'"status":413' in answer.replace(b" ", b"")
    else:
        assert b'id="error-title"' in answer


def test_a_small_body_is_ignored(server: Server) -> None:
    answer, _ = raw(server.port, request(b"/api/search?q=drug", b"Content-Length: 5", body=b"hello"))
    assert status_of(answer) == 200


def test_server_still_serves_after_the_abuse(server: Server) -> None:
    for _ in range(4):
        answer, _ = raw(server.port, request(b"/api/search?q=drug+tolerance"))
        assert status_of(answer) == 200


# -- headers on every HTML route -------------------------------------------------------


HTML_ROUTES = ["/", "/search?q=drug", "/search?q=zzzzqqq", TOLERANCE_URL, TOLERANCE_URL + "?q=tolerance", "/embed?q=drug",
               "/embed", "/embedding", "/no/such/page", "/api-but-not", "/search?q=drug&page=9999"]


@pytest.mark.parametrize("target", HTML_ROUTES + ["/api/search?q=drug", "/healthz", "/static/style.css", "/embed.js"])
def test_security_headers_on_every_route(server: Server, target: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", target)
    response = connection.getresponse()
    response.read()
    connection.close()
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert response.status < 500
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = dict((part.strip().split(" ", 1) + [""])[:2] for part in headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'" and "unsafe" not in headers["content-security-policy"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    if target.startswith("/embed?") or target == "/embed":
        assert policy["frame-ancestors"] == "*" and "x-frame-options" not in headers
    else:
        assert policy["frame-ancestors"] == "'none'" and headers["x-frame-options"] == "DENY"


# -- production mode -------------------------------------------------------------------


FAILING_SERVE = (
    "import sys\n"
    "import indexer.search.service\n"
    "def broken(*args, **kwargs):\n"
    "    raise RuntimeError('secret internal detail 42')\n"
    "indexer.search.service.SearchService.search = broken\n"
    "from webapp.cli import main\n"
    "sys.argv[0] = 'article-search'\n"
    "main()\n"
)


def test_debug_environment_never_turns_on_the_debugger(sample_index: Path, tmp_path: Path) -> None:
    """`serve` with every debug switch in the environment: an exception is still the app's own 500."""
    env = {"FLASK_DEBUG": "1", "ARTICLE_SEARCH_DEBUG": "1", "ARTICLE_SEARCH_TESTING": "true",
           "ARTICLE_SEARCH_PROPAGATE_EXCEPTIONS": "true", "WERKZEUG_DEBUG_PIN": "off", "PYTHONPATH": str(ROOT)}
    with start_server(sample_index, log=tmp_path / "server.log", workers=1, env=env,
                      command=[sys.executable, "-c", FAILING_SERVE]) as server:
        api, _ = raw(server.port, request(b"/api/search?q=drug"))
        page, _ = raw(server.port, request(b"/search?q=drug"))
        console, _ = raw(server.port, request(b"/console"))
        debugger, _ = raw(server.port, request(b"/search?__debugger__=yes&cmd=resource&f=style.css"))
    assert status_of(api) == 500 and status_of(page) == 500
    _, _, api_body = api.partition(b"\r\n\r\n")
    assert api_body.replace(b" ", b"").startswith(b'{"ok":false,"error":') and b'"status":500' in api_body.replace(b" ", b"")
    assert b'id="error-title"' in page
    for answer in (api, page, console, debugger):
        assert b"Traceback" not in answer and b"Werkzeug" not in answer and b"secret internal detail" not in answer
        assert b"__debugger__" not in answer.partition(b"\r\n\r\n")[2]
    assert status_of(console) == 404, "no Werkzeug debugger console"


# -- no path to the server's disk ------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Secret files and symlinks to them next to the static folder (in its parent, the package)."""
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text(SECRET)
    package = Path(webapp.__file__).resolve().parent
    links = [package / "zz-planted-secret.txt", package / "zz-planted-dir"]
    try:
        links[0].symlink_to(outside / "secret.txt")
        links[1].symlink_to(outside, target_is_directory=True)
        yield
    finally:
        for link in links:
            if link.is_symlink():
                link.unlink()


TRAVERSALS = [
    b"/static/../zz-planted-secret.txt", b"/static/%2e%2e/zz-planted-secret.txt", b"/static/%2E%2E/zz-planted-secret.txt",
    b"/static/..%2fzz-planted-secret.txt", b"/static/%2e%2e%2fzz-planted-secret.txt", b"/static/..%5czz-planted-secret.txt",
    b"/static/..\\zz-planted-secret.txt", b"/static/%252e%252e/zz-planted-secret.txt", b"/static/%c0%ae%c0%ae/zz-planted-secret.txt",
    b"/static/../zz-planted-dir/secret.txt", b"/static/..%2fzz-planted-dir%2fsecret.txt", b"/static/style.css/../../zz-planted-secret.txt",
    b"/static//etc/passwd", b"/static/%2fetc%2fpasswd", b"/static/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"/static/....//....//etc/passwd", b"/static/../../pyproject.toml", b"/static/..%2f..%2fpyproject.toml",
    b"/static/%00../zz-planted-secret.txt", b"/static/zz-planted-secret.txt%00.css", b"/static/\x00/etc/passwd",
    b"/../webapp/zz-planted-secret.txt", b"/%2e%2e/%2e%2e/etc/passwd", b"//etc/passwd", b"/learn/../../../../etc/passwd",
    b"/learn/..%2f..%2f..%2fetc%2fpasswd", b"/embed.js/../zz-planted-secret.txt", b"/api/articles/..%2f..%2fetc%2fpasswd",
    b"/zz-planted-secret.txt", b"/webapp/zz-planted-secret.txt", b"/static/C:\\Windows\\win.ini", b"/static/~/.bashrc",
    b"http://127.0.0.1/static/../zz-planted-secret.txt", b"/static/%2e%2e/%2e%2e/corpus/medicine",
    TOLERANCE_URL.encode() + b"/../../../../../etc/passwd", TOLERANCE_URL.encode() + b"%2f..%2f..%2f..%2fpyproject.toml",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1") for t in TRAVERSALS])
def test_no_path_reaches_the_disk(server: Server, planted: None, target: bytes) -> None:
    answer, _ = raw(server.port, request(target))
    assert status_of(answer) < 500, answer[:300]
    assert SECRET.encode() not in answer
    assert b"root:x:0:0" not in answer and b"[build-system]" not in answer and b"[fonts]" not in answer


def test_the_planted_files_exist_so_the_test_means_something(planted: None) -> None:
    package = Path(webapp.__file__).resolve().parent
    assert (package / "static" / ".." / "zz-planted-secret.txt").read_text() == SECRET
    assert Path("/etc/passwd").exists() or os.name != "posix"


