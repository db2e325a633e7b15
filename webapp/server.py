"""Run the web app under gunicorn, a production WSGI server, for ``article-search serve``.

gunicorn is driven through its ``BaseApplication`` API, so there is no
config file and no second command line to keep in step with ours. The app
is built once in the master (it opens nothing) and each forked worker opens
the index on its first request. Flask's debugger is never switched on here.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import socket
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from indexer.writing.staleness import corpus_changes
from webapp import single_write
from webapp.app import create_app
from webapp.search_index import index_ready

__all__ = ["ServeError", "GunicornServer", "gunicorn_options", "serve", "startup_notice"]

log = logging.getLogger(__name__)

#: Threads per worker: they keep slow clients and keep-alive connections from
#: blocking a worker, while searches themselves are short and CPU-bound.
THREADS = 4
#: Every page and API call is a GET with a query string: a real browser sends
#: about 15 headers of under 1 KB. These bound what one request makes a worker
#: read and hold before the app sees it (gunicorn answers 400 beyond them).
LIMIT_REQUEST_LINE = 8190  # gunicorn's maximum bounded value
LIMIT_REQUEST_FIELDS = 50
LIMIT_REQUEST_FIELD_SIZE = 8190
#: gunicorn's default access log line plus the worker's pid and the index
#: generation that answered, so a log shows every worker switching after a rebuild.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s gen=%({x-index-generation}o)s'
#: Whatever the environment says (FLASK_DEBUG, ARTICLE_SEARCH_DEBUG, ..._TESTING), `serve`
#: never runs in debug or testing mode: exceptions become the app's own 500 page or JSON.
PRODUCTION_CONFIG = {
    "DEBUG": False,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": False,
    "TRAP_HTTP_EXCEPTIONS": False,
    "TRAP_BAD_REQUEST_ERRORS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
}


class ServeError(RuntimeError):
    """The server cannot start; the message says what to do."""


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving one already-built Flask app with the given settings."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def gunicorn_options(host: str, port: int, workers: int, threads: int = THREADS) -> dict[str, Any]:
    """gunicorn settings for ``serve`` (access log on stdout, errors on stderr)."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [address],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        # Long queries (the app cuts them to 500 characters) get through in the app's own JSON or
        # HTML shape up to gunicorn's largest bounded request line; past it gunicorn answers 400.
        # 0 would mean no limit at all with gunicorn's Python parser: a 16 MB line was measured
        # to pin a worker for 40 s (it re-copies the buffer on every read) and add 50 MB of RSS.
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "access_log_format": ACCESS_LOG_FORMAT,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "article-search",
    }


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    index_dir: Path | str = "var/index",
    corpus_dir: Path | str = "corpus",
) -> None:
    """Serve the app on ``host:port`` with ``workers`` processes until interrupted.

    :raises ServeError: the address is already in use or cannot be bound.
    """
    _check_address(host, port)
    app = create_app({"INDEX_DIR": str(index_dir)})
    app.config.update(PRODUCTION_CONFIG)
    notice = startup_notice(Path(index_dir), Path(corpus_dir))
    if notice:
        log.warning("%s", notice)
    single_write.install()  # a killed worker never leaves a response cut after its head
    fewer_malloc_arenas()
    GunicornServer(app, gunicorn_options(host, port, workers)).run()


#: glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def fewer_malloc_arenas(arenas: int = 2) -> None:
    """Let the workers' threads share two malloc arenas, unless MALLOC_ARENA_MAX says otherwise.

    glibc gives each thread that allocates its own arena (up to 8 a core) and keeps
    freed memory in each: a worker's four threads held 40-50 MB more at 100,000
    articles than with two arenas (tests/bench/RESULTS.md). Set in the master before
    gunicorn forks, so every worker inherits it. Elsewhere than glibc this does nothing.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(_M_ARENA_MAX, arenas)


def startup_notice(index_dir: Path, corpus_dir: Path) -> str | None:
    """What a maintainer should do before the served index answers as the corpus reads, if anything."""
    if not index_ready(index_dir):
        return (
            f"no index at {index_dir} yet: pages answer 503 until "
            f"`article-search index build --corpus {corpus_dir} --index {index_dir}` has run"
        )
    changes = corpus_changes(corpus_dir, index_dir)
    if changes is None or not changes.behind:
        return None
    return (
        f"the index at {index_dir} is behind the corpus at {corpus_dir} ({changes}): "
        f"run `article-search index update --corpus {corpus_dir} --index {index_dir}` (it serves as it is meanwhile)"
    )


def _check_address(host: str, port: int) -> None:
    """Fail in one clear line before gunicorn retries a busy port for several seconds."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {host!r} ({error.strerror}): pass --host with an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ServeError(
                f"cannot listen on {host}:{port} ({error.strerror}): stop the other server or pass --port"
            ) from None
