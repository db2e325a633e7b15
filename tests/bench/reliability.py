"""Reliability under load, rebuilds and crashes: the long forms of tests/test_reliability_*.py, for `make bench`.

    rebuild  the real server (2 gunicorn workers) under loopback load while an
             `index build` and two `index update`s run as real processes
    crash    kill -9 (the whole process group) `index build` at seeded random
             moments, on a small corpus and on one big enough for 2 writer
             processes, and `index update` mid-commit
    soak     a long realistic query mix on 2 workers: worker RSS and open
             files after warm-up, half-way and at the end

The runs live in tests/support (rebuilds, crashes, soak) and record what
happened; the tests assert the promises on short runs. This script prints
the figures of long runs, and exits 1 when a figure is plainly a failure
(a failed request, a kill after which the index did not answer, a writer
that failed). Example::

    .venv/bin/python tests/bench/reliability.py --requests 5000 --kills 20 --soak 30000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support

from support.crashes import build_kills, update_kills  # noqa: E402
from support.rebuilds import rebuild_run  # noqa: E402
from support.soak import soak_run  # noqa: E402

SEED = 20261127


def rebuild(work: Path, requests: int) -> bool:
    run = rebuild_run(work, requests=requests, synthetic=2000, max_seconds=600)
    figures = run.figures()
    print("rebuild:", json.dumps(figures))
    writers = [code for _, code, _ in run.writer_outputs]
    return _failed(figures["failed"] > 0 or writers != [0, 0, 0], f"failed requests {figures['failed']}, writers exited {writers}")


def crash(work: Path, kills: int, update: int) -> bool:
    rng = random.Random(SEED)
    runs = [build_kills(work, "small", 600, kills // 2, rng, words=300), build_kills(work, "big", 2100, kills - kills // 2, rng)]
    builds = [kill for run in runs for kill in run.kills]
    updates = update_kills(work, update, rng, synthetic=2100)
    print(f"crash: {len(builds)} build kills, {sum(k.finished_first for k in builds)} after the build had finished, "
          f"{sum(k.generation_after != k.generation_before for k in builds)} after it had swapped in, "
          f"{sum(bool(k.leftovers) for k in builds)} leaving tmp files; {len(updates.kills)} update kills, visible edits "
          f"{[k.marked for k in updates.kills]} of {updates.edits}; after the last update {updates.final_marked}")
    unanswered = sum(bool(k.error) for k in builds) + sum(bool(k.error) for k in updates.kills)
    writers = [run.first_build.returncode for run in runs] + [run.last_build.returncode if run.last_build else -1 for run in runs]
    last_update = updates.last_update.returncode if updates.last_update else -1
    return _failed(unanswered > 0 or any(writers) or last_update != 0,
                   f"{unanswered} kills left an index that did not answer; builds exited {writers}, the last update {last_update}")


def soak(work: Path, requests: int) -> bool:
    run = soak_run(work, requests=requests, warmup=max(2000, requests // 10), synthetic=2000)
    figures = run.figures()
    print(f"soak: {figures['requests']} requests, {figures['failed']} failed, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    for pid in run.workers:
        print(f"  worker {pid}: RSS after warm-up, half-way, end {figures['rss_kb'][pid]} kB; "  # type: ignore[index]
              f"open files {figures['open_files'][pid]}")  # type: ignore[index]
    return _failed(bool(figures["failed"]) or run.workers_after != run.workers, "failed requests or replaced workers")


def _failed(failed: bool, what: str) -> bool:
    if failed:
        print("  FAILED:", what)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests during the rebuild run")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 moments for builds")
    parser.add_argument("--update-kills", type=int, default=5, help="kill -9 moments for an update mid-commit")
    parser.add_argument("--soak", type=int, default=30000, help="requests in the soak, after warm-up")
    parser.add_argument("--only", choices=["rebuild", "crash", "soak"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["rebuild", "crash", "soak"])
    failed = False
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        for name in ("rebuild", "crash", "soak"):
            if name not in only:
                continue
            work = Path(tmp) / name
            work.mkdir()
            if name == "rebuild":
                failed |= rebuild(work, args.requests)
            elif name == "crash":
                failed |= crash(work, args.kills, args.update_kills)
            else:
                failed |= soak(work, args.soak)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
