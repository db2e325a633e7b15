"""Replicas behind real nginx on loopback, for the scale-out test and benchmark.

nginx is configured from the deployment kit's own file
(``webapp/deploy/nginx.conf``), with only the ports changed, so the test
proves the configuration users copy.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ROOT

KIT = ROOT / "webapp" / "deploy" / "nginx.conf"
CLI = str(Path(sys.executable).with_name("article-search"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, timeout: float = 10.0, source: str | None = None) -> tuple[int, bytes]:
    """GET ``path`` from loopback ``port`` on a new connection, from the loopback address ``source`` if given."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_healthy(port: int, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = get(port, "/healthz", timeout=2)
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing healthy on port {port} after {timeout} s")


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the replica as an operator or a host shutdown would (SIGTERM: gunicorn's graceful stop)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """kill -9 the replica's whole process group (gunicorn master and workers)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def generation(self) -> int:
        return int(wait_healthy(self.port, timeout=5)["generation"])  # type: ignore[call-overload]


def start_replica(snapshots: Path, log: Path, workers: int = 1) -> Replica:
    port = free_port()
    command = [CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--index-from", str(snapshots)]
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    replica = Replica(port, process)
    try:
        wait_healthy(port)
    except TimeoutError:
        replica.kill()
        raise
    return replica


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path
    replicas: list[Replica] = field(default_factory=list)

    def stop(self) -> None:
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
    main = f"""
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
    (folder / "nginx.conf").write_text(main, "utf-8")
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
                raise RuntimeError(f"nginx exited: {(folder / 'stderr.log').read_text()} {(folder / 'error.log').read_text() if (folder / 'error.log').exists() else ''}")
            time.sleep(0.1)
    process.kill()
    raise TimeoutError("nginx did not start")
