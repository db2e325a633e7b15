"""Test support: what tests and benchmarks both need to drive the real programs, and no verdicts.

- ``ports``: a free loopback port.
- ``processes``: the `article-search` command as a real process, process trees and their memory and
  files, kill -9 of a whole process group.
- ``corpora``: article files in the seed's format, synthetic corpora, copies of the sample corpus.
- ``servers``: `article-search serve` (gunicorn) and the deploy kit's nginx on loopback, started,
  waited for and stopped; one GET on a fresh connection.
- ``load``: loopback clients sending a realistic mix of requests, and what each answer said.
- ``rebuilds``, ``crashes``, ``soak``, ``churn``: the reliability runs (serving through rebuilds,
  kill -9 of writers, a long soak and the timed soak of `make bench`, six articles churned by 30
  writers under load) that record what happened. The tests (tests/test_reliability_*.py) assert
  the promises; tests/bench/reliability.py runs the long forms and prints the figures.

Tests import these as ``from support.servers import start_server`` (``pythonpath = ["tests"]``);
the benchmark scripts put ``tests/`` on ``sys.path`` first.
"""

from pathlib import Path

#: The repository (the project's root folder).
ROOT = Path(__file__).resolve().parents[2]
