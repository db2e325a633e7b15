"""The churn run of tests/test_reliability_churn.py, repeated, against this checkout's code or another's.

Prints each run's figures and its failed requests (by the test's rule) and
exits 1 if any run had one. ``--code DIR`` runs the server and the writers from
another checkout's ``indexer`` and ``webapp`` (its `article-search` entry
point, ``indexer.cli:main``, imported first from DIR) with this venv's
libraries: how the test was shown to catch the race main had before its fix
(at 8f0d79f, searchers did not hold their files open and an update's merge
deleted them under the readers)::

    git worktree add --detach /tmp/old 8f0d79f
    .venv/bin/python tests/bench/churn.py --runs 3 --code /tmp/old
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support

from support.churn import churn_run  # noqa: E402


def command_for(code: Path) -> list[str]:
    """`article-search` from the checkout at ``code``, ahead of the installed one."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(code.resolve())!r}); "
            "from indexer.cli import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--code", type=Path, help="another checkout whose indexer/ and webapp/ to run")
    args = parser.parse_args()
    command = command_for(args.code) if args.code else None
    failed_runs = 0
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="churn-") as tmp:
            run = churn_run(Path(tmp), command=command)
            failed = run.failed
            print(f"run {n + 1}:", json.dumps(run.figures()))
            if failed:
                failed_runs += 1
                statuses = Counter(line.rsplit(": ", 1)[-1].split(" ")[0] for line in failed)
                print(f"  {len(failed)} failed requests, by answer {dict(statuses)}; the first five:")
                for line in failed[:5]:
                    print("   ", line)
                if args.code:
                    print("  the server's first error:", _first_error((Path(tmp) / "server.log").read_text(errors="replace")))
    print(f"{failed_runs} of {args.runs} runs had failed requests")
    sys.exit(1 if failed_runs else 0)


def _first_error(log: str) -> str:
    """The exception line of the first traceback in the server's log."""
    lines = log.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith("Traceback")), None)
    if start is None:
        return "(none logged)"
    return next((line for line in lines[start + 1:] if line and not line[0].isspace()), lines[start])


if __name__ == "__main__":
    main()
