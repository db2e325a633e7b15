"""A semantic build killed half way through its embedding, rerun: how long the rerun takes against a full build.

Real `article-search index build` processes on generated articles: one full
build, then a build of the same corpus into a fresh index SIGKILLed once half
its chunks are checkpointed, then that build run again. Not collected by
pytest. Example::

    .venv/bin/python tests/bench/resume.py --size 600
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import generate  # noqa: E402
from support.embedding import start_build, wait_for_chunks  # noqa: E402
from support.processes import run_cli  # noqa: E402

from indexer.semantic.embedding import chunk_size  # noqa: E402


def timed_build(corpus: Path, index: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = run_cli("index", "build", "--corpus", str(corpus), "--index", str(index), timeout=3600)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--workdir", type=Path, default=HERE.parents[1] / ".cache" / "bench")
    args = parser.parse_args()
    corpus = generate.cached_corpus(args.size, args.workdir)
    chunks = -(-args.size // chunk_size(args.size, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        full, _ = timed_build(corpus, root / "full")
        started = time.perf_counter()
        build = start_build(corpus, root / "resumed")
        wait_for_chunks(root / "resumed", chunks // 2, build, timeout=3600)
        os.kill(build.pid, signal.SIGKILL)
        build.communicate()
        killed = time.perf_counter() - started
        rerun, summary = timed_build(corpus, root / "resumed")
    taken = re.search(r"embedded (\d+) articles; took (\d+) from an interrupted build's checkpoint", summary)
    print(f"{args.size} articles, {chunks} chunks; load average {os.getloadavg()[0]:.1f}")
    print("| run | seconds | embedded |")
    print("|---|---|---|")
    print(f"| full build | {full:.1f} | {args.size} |")
    print(f"| build SIGKILLed at {chunks // 2} of {chunks} chunks checkpointed | {killed:.1f} | |")
    print(f"| its rerun | {rerun:.1f} ({rerun / full:.0%} of the full build) | {taken.group(1) if taken else '?'} "
          f"(took {taken.group(2) if taken else '?'} from the checkpoint) |")


if __name__ == "__main__":
    main()
