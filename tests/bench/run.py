"""`make bench`: build, update and search figures at 10k (and 100k) articles, as ratios to SQLite FTS5 and tantivy.

For each size, in one invocation, on the same generated articles and queries:

- full build: seconds, docs/s, peak RSS, index size (ours through the real
  CLI in a subprocess; the references parse the same files and fill FTS5
  and tantivy, in this process);
- `index update` after 1 and after 50 changed articles (a real process, so
  start-up counts), and how long until the running server answers with the change;
- search latency p50/p95/p99 of the library (top 10 with snippets; each query
  new, so no cache helps) against FTS5 with snippet() and tantivy with its
  SnippetGenerator, one query at a time; a repeated (cached) query;
- `/api/search` latency through gunicorn over loopback, requests/s for 2
  workers at concurrency 16, and the workers' RSS.

Not collected by pytest. Example::

    .venv/bin/python tests/bench/run.py --sizes 10000 --out tests/bench/results-10k.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # bench/ and tests/

import generate  # noqa: E402
import load  # noqa: E402
import reference  # noqa: E402
import tantivy_reference  # noqa: E402

from indexer import SearchService  # noqa: E402
from support.servers import start_server  # noqa: E402

from support import ROOT  # noqa: E402
CLI = str(Path(sys.executable).with_name("article-search"))
#: Distinct queries for the throughput run: more than it asks at 1,000 a second.
THROUGHPUT_QUERIES = 30_000


def folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def timed_process(command: list[str]) -> tuple[float, str]:
    """Run a command; return its wall time in seconds and its stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return elapsed, done.stdout


def edit(corpus: Path, count: int, word: str) -> None:
    """Change ``count`` articles, the first one gaining ``word``."""
    files = sorted(corpus.rglob("*.md"))[:count]
    for n, path in enumerate(files):
        _, front, body = path.read_text("utf-8").split("---\n", 2)
        fields = yaml.safe_load(front)
        fields["answer"] = f"{word if n == 0 else 'revision'} {time.time_ns()} {fields['answer']}"
        front = yaml.safe_dump(fields, sort_keys=False, width=100000, allow_unicode=True)
        path.write_text(f"---\n{front}---\n{body}", "utf-8")


def latency(search: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    """Time ``search`` once per query, in milliseconds."""
    samples = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        samples.append((time.perf_counter() - started) * 1000)
    return load.percentiles(samples)


def worker_rss_mb(master: int) -> list[float]:
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
                sizes.append(int(kb) / 1024)
        except (OSError, StopIteration, IndexError):
            continue
    return sizes


def until_served(port: int, word: str, timeout: float = 30.0) -> float:
    """Seconds until /api/search finds ``word`` on every worker (asked a few times in a row)."""
    started = time.perf_counter()
    connection = load.http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    streak = 0
    while time.perf_counter() - started < timeout:
        _, body = load.get(connection, load.url("/api/search", word))
        streak = streak + 1 if json.loads(body)["total"] > 0 else 0
        if streak >= 6:  # keep-alive may pin one worker; six in a row across reconnects is enough
            return time.perf_counter() - started
        connection.close()
        connection = load.http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        time.sleep(0.02)
    return float("nan")


#: Label, prefix of the build and search keys, key of the ratios (FTS5's as in the earlier results-*.json).
REFERENCES = [("FTS5", "reference", "ratios"), ("tantivy", "tantivy", "tantivy_ratios")]


def timed_build(build: Callable[[Path, Path], int], corpus: Path, path: Path) -> dict[str, float]:
    """Build a reference in this process: seconds, docs/s and bytes on disk."""
    started = time.perf_counter()
    count = build(corpus, path)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "docs_per_s": count / elapsed, "bytes": folder_size(path)}


def ratios(result: dict[str, Any], name: str) -> dict[str, float]:
    """Ours over the reference ``name`` (``reference`` is FTS5): above 1 means we are slower or bigger."""
    ours, build, search = result["build"], result[f"{name}_build"], result[f"{name}_search"]
    return {
        "build_time": ours["seconds"] / build["seconds"],
        "search_p50": result["search"]["p50"] / search["p50"],
        "search_p99": result["search"]["p99"] / search["p99"],
        "index_size": ours["bytes"] / build["bytes"],
    }


def bench_size(size: int, workdir: Path, queries: list[str], seconds: float) -> dict[str, Any]:
    corpus = generate.cached_corpus(size, workdir)
    result: dict[str, Any] = {"size": size}
    # The references' builds, in this process.
    db = workdir / f"reference-{size}.sqlite"
    tantivy_index = workdir / f"tantivy-{size}"
    result["reference_build"] = timed_build(reference.build, corpus, db)
    result["tantivy_build"] = timed_build(tantivy_reference.build, corpus, tantivy_index)
    # Our build, through the CLI.
    index = workdir / f"index-{size}"
    shutil.rmtree(index, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # Words alone: the figures compare with FTS5 and with earlier runs (ranking by meaning is timed by tests/eval).
    build_s, _ = timed_process([CLI, "index", "build", "--no-semantic", "--corpus", str(corpus), "--index", str(index)])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    live = index / json.loads((index / "CURRENT").read_text())["dir"]
    result["build"] = {"seconds": build_s, "docs_per_s": size / build_s, "peak_rss_mb": max(peak, before) / 1024, "bytes": folder_size(live)}
    # Library search, then the reference, on the same queries.
    service = SearchService(index)
    service.search("warm up the searcher")
    result["search"] = latency(service.search, queries)
    result["reference_search"] = latency(reference.Reference(db).search, queries)
    result["tantivy_search"] = latency(tantivy_reference.TantivyReference(tantivy_index).search, queries)
    service.search(queries[0])
    started = time.perf_counter()
    service.search(queries[0])
    result["cached_ms"] = (time.perf_counter() - started) * 1000
    # The real server.
    server = start_server(index, log=workdir / "server.log", workers=2)
    port = server.port
    with server:
        result["api"] = load.latency(port, "/api/search", [f"{q} {size}" for q in queries])
        # Each request a query not asked before (the latency runs' are not reused): no cache answers.
        asked = set(queries)
        fresh = [query for query in generate.queries(THROUGHPUT_QUERIES, seed=29) if query not in asked]
        result["throughput"] = load.throughput(port, fresh, 16, seconds)
        result["worker_rss_mb"] = worker_rss_mb(server.process.pid)
        for count in (1, 50):
            word = f"zqxbench{count}x{time.time_ns() % 10**6}"
            edit(corpus, count, word)
            update_s, _ = timed_process([CLI, "index", "update", "--corpus", str(corpus), "--index", str(index)])
            result[f"update_{count}"] = {"seconds": update_s, "visible_after_s": until_served(port, word)}
    for _, key, ratios_key in REFERENCES:
        result[ratios_key] = ratios(result, key)
    return result


def machine() -> dict[str, Any]:
    import importlib.metadata

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "whoosh": importlib.metadata.version("whoosh-reloaded"),
        "sqlite": __import__("sqlite3").sqlite_version,
        "tantivy": importlib.metadata.version("tantivy"),
    }


def reference_lines(run: dict[str, Any]) -> list[str]:
    """One build and one search line for each reference, with ours over it."""
    lines = []
    for label, key, ratios_key in REFERENCES:
        build, search, r = run[f"{key}_build"], run[f"{key}_search"], run[ratios_key]
        lines += [
            f"  {label:<8} build {build['seconds']:.1f} s ({build['docs_per_s']:.0f} docs/s, {build['bytes'] / 2**20:.1f} MiB) | "
            f"search p50 {search['p50']:.2f} p95 {search['p95']:.2f} p99 {search['p99']:.2f} ms",
            f"  {'':<8} ours/{label}: build time {r['build_time']:.2f}x, size {r['index_size']:.2f}x, "
            f"search p50 {r['search_p50']:.2f}x, p99 {r['search_p99']:.2f}x",
        ]
    return lines


def report(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']}", f"command: {results['command']}"]
    for run in results["sizes"]:
        lines += [
            f"\n## {run['size']} articles",
            f"build      ours {run['build']['seconds']:.1f} s ({run['build']['docs_per_s']:.0f} docs/s, peak RSS {run['build']['peak_rss_mb']:.0f} MB, "
            f"{run['build']['bytes'] / 2**20:.1f} MiB)",
            f"search     ours p50 {run['search']['p50']:.1f} p95 {run['search']['p95']:.1f} p99 {run['search']['p99']:.1f} ms",
            *reference_lines(run),
            f"cached     {run['cached_ms']:.3f} ms",
            f"/api       p50 {run['api']['p50']:.1f} p95 {run['api']['p95']:.1f} p99 {run['api']['p99']:.1f} ms; "
            f"{run['throughput']['rps']:.0f} new queries/s at concurrency 16 on 2 workers ({run['throughput']['errors']} errors, "
            f"{run['throughput'].get('repeated', 0)} repeated); "
            f"worker RSS {', '.join(f'{mb:.0f}' for mb in run['worker_rss_mb'])} MB",
        ]
        for count in (1, 50):
            update = run[f"update_{count}"]
            lines.append(f"update {count:<3} {update['seconds']:.2f} s (process included), then served after {update['visible_after_s']:.2f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated corpus sizes (e.g. 10000,100000)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".cache" / "bench")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    queries = generate.queries(args.queries)
    results = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "sizes": []}
    for size in (int(item) for item in args.sizes.split(",")):
        print(f"benchmarking {size} articles ...", file=sys.stderr)
        results["sizes"].append(bench_size(size, args.workdir, queries, args.seconds))
    print(report(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
