"""Concurrent writers: two `index update`s and an `index watch` on one index at once, as real processes.

They take turns on the index folder's flock: each new file is indexed exactly
once, a writer that cannot get the lock in time says so in one clear line
(and `watch` keeps going), and the index ends equal to the corpus.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import wait_for
from support import ROOT
from support.corpora import article_text, copy_sample, corpus_count
from support.processes import ctrl_c_reaches_it

from indexer import IndexStore, SearchService, build_index

pytestmark = pytest.mark.slow

LOCKED = re.compile(r"another build or update \(process \d+\) is writing .*; waited [\d.]+ s\. Try again when it has finished")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "indexer", "index", *args]


def add_articles(corpus: Path, first: int, count: int, word: str) -> None:
    folder = corpus / "testing"
    folder.mkdir(exist_ok=True)
    for n in range(first, first + count):
        slug = f"writer-{n}"
        (folder / f"{slug}.md").write_text(
            article_text(slug=slug, id=960_000 + n, title=f"Writer {n}", answer=f"{word} number {n}"), "utf-8"
        )


def test_two_updates_and_a_watch_take_turns(tmp_path: Path) -> None:
    corpus = copy_sample(tmp_path / "corpus", 300)
    index = tmp_path / "index"
    build_index(corpus, index)
    add_articles(corpus, 0, 200, "quokkawriter")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    where = ["--corpus", str(corpus), "--index", str(index)]
    watch = subprocess.Popen(command("watch", *where, "--debounce", "0.3", "--lock-timeout", "1"), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it)
    lines: list[str] = []
    readers = [threading.Thread(target=lambda stream=stream: lines.extend(stream), daemon=True)
               for stream in (watch.stdout, watch.stderr)]
    for reader in readers:
        reader.start()
    try:
        updates = [subprocess.Popen(command("update", *where, "--lock-timeout", "60"), env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [update.communicate(timeout=120) for update in updates]
        assert [update.returncode for update in updates] == [0, 0], outputs
        service = SearchService(index, refresh_seconds=0)
        assert wait_for(lambda: service.stats()["documents"] == corpus_count(corpus), 30)
        # Each file was added by exactly one writer.
        added = [int(match) for out, _ in outputs for match in re.findall(r"^added (\d+)", out, re.M)]
        assert wait_for(lambda: sum(added) + sum(int(m) for m in re.findall(r"^added (\d+)", "".join(lines), re.M)) == 200, 10), (
            outputs, lines)

        # A writer holds the lock: the next update gives up after its wait, saying so; watch says so and goes on.
        with IndexStore(index).write_lock():
            add_articles(corpus, 200, 3, "quokkalate")
            started = time.monotonic()
            blocked = subprocess.run(command("update", *where, "--lock-timeout", "0.5"), env=env,
                                     capture_output=True, text=True, timeout=60)
            waited = time.monotonic() - started
            assert blocked.returncode == 1 and LOCKED.search(blocked.stderr), blocked.stderr
            assert len(blocked.stderr.strip().splitlines()) == 1
            assert 0.5 <= waited < 10
            assert wait_for(lambda: any(line.startswith("update failed: ") and LOCKED.search(line) for line in lines), 15), lines
        add_articles(corpus, 203, 1, "quokkalate")  # the next save after the lock is free
        assert wait_for(lambda: service.search("quokkalate").total == 4, 30), lines
        assert service.stats()["documents"] == corpus_count(corpus)
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            watch.wait(timeout=15)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()
        for reader in readers:
            reader.join(timeout=5)
        for stream in (watch.stdout, watch.stderr):
            if stream is not None:
                stream.close()
    assert watch.returncode == 0, lines
    again = subprocess.run(command("update", *where), env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.startswith("added 0, changed 0, removed 0"), again.stdout
    with SearchService(index) as fresh:
        assert fresh.stats()["documents"] == corpus_count(corpus)
        assert fresh.search("quokkawriter", per_page=50).total == 200
