"""Soak for `make bench`: minutes of mixed load on `article-search serve --workers 2`, an `index update` every minute.

Searches, result pages, article pages, the JSON API, completions and /embed
(support.load.query_mix) at moderate concurrency, and the pages of the articles
the updates add, edit and remove. Prints a table per minute (requests, failed,
p50 and p99, each worker's RSS) and each worker's growth after warm-up, in
Markdown for tests/bench/RESULTS.md. Exits 1 on any failed request (5xx, no
answer, a 404 for an article that stays), a failed update, a replaced worker,
or a worker whose RSS grew more than ``--max-growth`` after warm-up (median of
the last 5 minutes against the 5 after warm-up). Example::

    .venv/bin/python tests/bench/soak.py --minutes 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support

from support.soak import TimedSoak, timed_soak  # noqa: E402


def growth(run: TimedSoak, warmup: float, window: float) -> dict[int, tuple[float, float, float]]:
    """Per worker: median RSS (MB) over ``window`` s after warm-up, over the last ``window`` s, and the growth in %.

    Medians of windows, not two single samples: RSS rises and falls by 10-20 MB as each
    update's generation is laid out and the old one freed, so one sample may fall on a peak.
    """
    end = max(t for t, _ in run.rss)
    found = {}
    for pid in run.workers:
        points = [(t, rss[pid] / 1024) for t, rss in run.rss if pid in rss]
        first = statistics.median([mb for t, mb in points if warmup <= t <= warmup + window] or [points[-1][1]])
        last = statistics.median([mb for t, mb in points if t >= end - window] or [points[-1][1]])
        found[pid] = (first, last, 100 * (last - first) / first)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20, help="how long the load runs")
    parser.add_argument("--concurrency", type=int, default=8, help="clients sending at once")
    parser.add_argument("--articles", type=int, default=400, help="synthetic articles beside the sample corpus")
    parser.add_argument("--warmup", type=float, default=5, help="minutes of warm-up before RSS is compared")
    parser.add_argument("--json", type=Path, help="also write every RSS sample and the table here")
    parser.add_argument("--max-growth", type=float, default=10, help="RSS growth after warm-up that fails (%%)")
    parser.add_argument("--no-semantic", action="store_true", help="rank by words alone (a faster first build)")
    args = parser.parse_args()
    warmup = min(args.warmup, args.minutes / 2) * 60
    window = min(300.0, (args.minutes * 60 - warmup) / 2)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        run = timed_soak(Path(tmp), minutes=args.minutes, concurrency=args.concurrency, synthetic=args.articles,
                         semantic=not args.no_semantic)
    rows = run.minutes()
    print(f"soak: {args.minutes:g} min, concurrency {args.concurrency}, {len(run.samples)} requests, "
          f"{len(run.failed)} failed, {len(run.updates)} updates ({sum(u.code != 0 for u in run.updates)} failed, "
          f"{min((u.seconds for u in run.updates), default=0):.1f}-{max((u.seconds for u in run.updates), default=0):.1f} s); "
          f"{platform.node()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
    print("| minute | requests | failed | p50 ms | p99 ms | " + " | ".join(f"worker {n + 1} RSS MB" for n in range(len(run.workers))) + " |")
    print("|---" * (5 + len(run.workers)) + "|")
    for row in rows:
        print("| " + " | ".join(f"{value:g}" for value in row.values()) + " |")
    grown = growth(run, warmup, window)
    print()
    for n, (pid, (warm, end, pct)) in enumerate(grown.items()):
        print(f"worker {n + 1} (pid {pid}): median RSS {warm:.1f} MB in the {window / 60:g} min after {warmup / 60:g} min "
              f"of warm-up, {end:.1f} MB in the last {window / 60:g} min: {end - warm:+.1f} MB ({pct:+.1f}%)")
    if args.json:
        args.json.write_text(json.dumps({"rss_kb": [[round(t, 1), {str(n + 1): rss.get(pid) for n, pid in enumerate(run.workers)}]
                                                    for t, rss in run.rss], "minutes": rows,
                                         "updates": [[round(u.at, 1), u.code, round(u.seconds, 1)] for u in run.updates]}, indent=1))
    for sample in run.failed[:10]:
        print("  failed:", sample.target, sample.status, sample.error)
    for update in run.updates:
        if update.code:
            print(f"  update at {update.at:.0f} s failed: {update.output}")
    bad = (bool(run.failed) or any(u.code for u in run.updates) or sorted(run.workers_after) != sorted(run.workers)
           or any(pct > args.max_growth for _, _, pct in grown.values()))
    if bad:
        print("FAILED: failed requests, a failed update, a replaced worker or RSS growth over "
              f"{args.max_growth:g}% after warm-up")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
