"""Real servers on loopback: `article-search serve` (gunicorn) and the deploy kit's nginx in front of it.

One way to start the app server, :func:`start_server`, for tests, browser
tests and benchmarks alike: over an index folder (``index``) or over
published snapshots (``index_from``, a replica). It returns once /healthz
answers and every gunicorn worker is up; the :class:`Server` stops as an
operator would (:meth:`Server.stop`, SIGTERM), is killed -9 with its workers
(:meth:`Server.kill`), or quickly shut down when its ``with`` block ends.

nginx is configured from the kit's own file (``webapp/deploy/nginx.conf``)
with only the ports changed, so tests prove the configuration users copy.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from support import ROOT
from support.ports import free_port
from support.processes import children, cli

__all__ = ["Server", "start_server", "fetch", "KIT", "Nginx", "nginx_binary", "start_nginx"]

STARTUP_SECONDS = 30
KIT = ROOT / "webapp" / "deploy" / "nginx.conf"


def fetch(port: int, target: str, timeout: float = 30, source: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET on a fresh loopback connection (from the loopback address ``source`` if given): status, headers (lower-case names), body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class Server:
    """A running `article-search serve`: its port, its gunicorn master process and its log."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self, timeout: float = 5) -> dict[str, Any]:
        status, _, body = fetch(self.port, "/healthz", timeout=timeout)
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")
        return dict(json.loads(body))

    def generation(self) -> int:
        return int(self.health()["generation"])

    def stop(self) -> None:
        """Stop as an operator or a host shutdown would: SIGTERM to the group, gunicorn's graceful stop."""
        self._signal(signal.SIGTERM, os.killpg, 30)

    def kill(self) -> None:
        """kill -9 the whole process group (gunicorn master and workers)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def close(self) -> None:
        """Shut down quickly: SIGINT to the master (gunicorn's quick shutdown, no waiting on keep-alive)."""
        self._signal(signal.SIGINT, os.kill, 15)

    def _signal(self, number: int, send: Any, timeout: float) -> None:
        if self.process.poll() is not None:
            return
        try:
            send(self.process.pid, number)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            self.process.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_server(index: Path | None = None, *, log: Path, index_from: Path | None = None, workers: int = 2,
                 env: dict[str, str] | None = None, command: list[str] | None = None) -> Server:
    """Start `article-search serve` on a free loopback port and wait until it and its workers answer.

    :param index: serve this index folder (``--index``).
    :param index_from: or serve published snapshots from this folder (``--index-from``), as a replica.
    :param log: the server's stdout and stderr (its access log) go here.
    :param env: variables added to this process's environment.
    :param command: what stands for `article-search` (a Python one-liner that patches the app first, say).
    :raises RuntimeError: with the log, if it exits or is not healthy within 30 s (it is killed then).
    """
    if (index is None) == (index_from is None):
        raise ValueError("give index or index_from")
    port = free_port()
    where = ["--index", str(index)] if index is not None else ["--index-from", str(index_from)]
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [*(command or cli()), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *where],
            stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=ROOT,
            start_new_session=True,  # its own process group, so kill() takes the workers too
        )
    server = Server(port, process, log)
    try:
        _wait_healthy(server, workers)
    except BaseException:
        server.kill()
        raise
    return server


def _wait_healthy(server: Server, workers: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log()}")
        try:
            status, _, _ = fetch(server.port, "/healthz", timeout=2)
            if status == 200 and len(server.worker_pids()) == workers:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {STARTUP_SECONDS} s:\n{server.log()}")


# -- nginx -------------------------------------------------------------------------


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    def stop(self) -> None:
        """Graceful shutdown (SIGQUIT), then kill after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None)


def start_nginx(folder: Path, replica_ports: list[int], client_limits: bool = True) -> Nginx:
    """Run nginx in the foreground with the kit's upstream pointed at ``replica_ports``.

    ``client_limits=False`` drops the kit's per-address ``limit_req`` and
    ``limit_conn`` lines, for load generators that stand in for many clients
    from one loopback address.
    """
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed: apt-get install nginx (make test installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    kit = KIT.read_text("utf-8")
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in replica_ports)
    kit = re.sub(r"(?m)^    server 127\.0\.0\.1:\d+ .*\n(?:    server 127\.0\.0\.1:\d+ .*\n)*", servers + "\n", kit)
    kit = kit.replace("listen 80;", f"listen 127.0.0.1:{port};")
    if not client_limits:
        kit = re.sub(r"(?m)^    limit_(?:req|conn) .*\n", "", kit)
    (folder / "article-search.conf").write_text(kit, "utf-8")
    (folder / "nginx.conf").write_text(_main_conf(folder), "utf-8")
    with open(folder / "stderr.log", "wb") as stderr:
        process = subprocess.Popen(
            [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Nginx(port, process, folder)
        except OSError:
            if process.poll() is not None:
                errors = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
                raise RuntimeError(f"nginx exited: {(folder / 'stderr.log').read_text()} {errors}")
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise TimeoutError("nginx did not start")


def _main_conf(folder: Path) -> str:
    """nginx's main file: everything under ``folder``, the kit's server block included."""
    return f"""
user root;
worker_processes 1;
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/article-search.conf;
}}
"""


@contextlib.contextmanager
def replicas_behind_nginx(snapshots: Path, folder: Path, replicas: int, workers: int) -> Iterator[tuple[Nginx, list[Server]]]:
    """``replicas`` servers of the snapshots in ``snapshots`` behind the kit's nginx; all stopped on leaving."""
    servers: list[Server] = []
    nginx = None
    try:
        for n in range(replicas):
            servers.append(start_server(index_from=snapshots, log=folder / f"replica-{n}.log", workers=workers))
        # One loopback address stands in for many clients here: the kit's per-address limits are off.
        nginx = start_nginx(folder / "nginx", [server.port for server in servers], client_limits=False)
        yield nginx, servers
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.kill()

