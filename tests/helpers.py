"""Helpers shared by test modules (import from here, not from conftest: there are two conftests).

What benchmarks need as well lives in ``support/`` (servers, ports, corpora, processes).
"""

from __future__ import annotations

import time
from typing import Callable

from support import ROOT
from support.corpora import SAMPLE_CORPUS, article_text

__all__ = ["ROOT", "SAMPLE_CORPUS", "SEED", "article_text", "wait_for"]

SEED = ROOT.parent / "shared" / "seed"


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll ``condition`` every 0.1 s until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
