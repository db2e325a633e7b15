"""`index watch` in a real process: saves show up in the index, a burst is one update."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import ROOT, wait_for
from support.processes import ctrl_c_reaches_it

from indexer import SearchService


def test_watch_indexes_saved_files_once_per_burst(corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "indexer", "index", "watch", "--corpus", str(corpus_dir), "--index", str(index_dir), "--debounce", "0.3"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_reaches_it)
    service = SearchService(index_dir, refresh_seconds=0)
    try:
        time.sleep(1.0)  # let the observer start
        for n in range(5):  # a burst of saves
            make_article(corpus_dir / "testing", slug=f"burst-{n}", id=990_000 + n, title=f"Quokkafish number {n}")
        assert wait_for(lambda: service.search("quokkafish").total == 5)
        (corpus_dir / "testing" / "burst-0.md").unlink()
        assert wait_for(lambda: service.search("quokkafish").total == 4)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err
    updates = [line for line in out.splitlines() if line.startswith("added ")]
    assert updates[0].startswith("added 5, changed 0, removed 0")
    assert updates[1].startswith("added 0, changed 0, removed 1")
    assert len(updates) == 2


def test_watch_is_not_woken_by_its_own_reads(corpus_dir: Path, index_dir: Path) -> None:
    """A bad file is read again by every update; reading it must not count as a change."""
    (corpus_dir / "broken.md").write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "indexer", "index", "watch", "--corpus", str(corpus_dir), "--index", str(index_dir), "--debounce", "0.2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=ctrl_c_reaches_it)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: any("broken.md" in line for line in lines), 30), lines
        time.sleep(2.0)  # ten debounces: an update woken by its own read of broken.md would have run again
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0, lines
    assert [line for line in lines if "broken.md" in line] == ["skipped broken.md:1: file is empty: write front matter between '---' lines\n"]
