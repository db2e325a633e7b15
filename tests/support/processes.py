"""The `article-search` command as a real process; process groups, their members, memory and files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from support import ROOT

__all__ = ["cli", "run_cli", "kill_group_at", "group_members", "children", "rss_kb", "open_files", "file_targets"]


def cli() -> list[str]:
    """The installed `article-search` command (or the entry point run by this Python, when the script is missing)."""
    script = Path(sys.executable).with_name("article-search")
    if script.exists():
        return [str(script)]
    found = shutil.which("article-search")
    return [found] if found else [sys.executable, "-c", "from indexer.cli import main; main()"]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `article-search ARGS...` to its end, capturing its output as text."""
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def kill_group_at(command: list[str], delay: float) -> tuple[int | None, int]:
    """Start ``command`` in its own session and SIGKILL its whole group after ``delay`` s.

    Returns the exit code if it finished first (else None) and how many
    processes the group had when it was killed (3 = the CLI and 2 writers).
    Raises RuntimeError if any member outlives the kill by 5 s.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, cwd=ROOT)
    try:
        finished: int | None = process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        finished = None
    members = len(group_members(process.pid))
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the writer's worker processes too
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 5
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_members(process.pid):
        raise RuntimeError(f"processes of the killed group {process.pid} are still running: {group_members(process.pid)}")
    return finished, members


def group_members(leader: int) -> list[int]:
    """Live (not zombie) processes in process group ``leader``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers, for its master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(word) for word in task.read_text().split()]
        except OSError:
            pass
    return sorted(set(found))


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def open_files(pid: int) -> int:
    """How many descriptors ``pid`` has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_targets(pid: int) -> list[str]:
    """What each open descriptor of ``pid`` points at (files, sockets, pipes)."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return sorted(targets)


def ctrl_c_reaches_it() -> None:
    """A ``preexec_fn`` giving the child the SIGINT of a terminal: Ctrl-C interrupts it.

    A shell without job control starts background commands with SIGINT ignored,
    and Python then installs no KeyboardInterrupt handler: a test run from such
    a shell (a CI script started with ``&``) would send its SIGINT into nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
