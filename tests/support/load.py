"""Loopback load: a realistic mix of requests, clients that send it, and what each answer said.

Each request is tagged (``rq=<seq>``) so the server's access log line, which
names the worker and the generation, can be matched to it (:func:`served_by`).
"""

from __future__ import annotations

import http.client
import random
import re
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from indexer import load_corpus
from support.corpora import WORDS

__all__ = ["Sample", "query_mix", "with_marker", "run_load", "percentile", "served_by"]


@dataclass
class Sample:
    """One request and its answer."""

    seq: int
    kind: str
    target: str
    started: float
    ended: float
    status: int  # 0: no answer (connection error or timeout)
    generation: int | None  # from X-Index-Generation
    body: bytes = b""
    error: str = ""

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1000


def query_mix(corpus: Path, seed: int = 7, size: int = 1200) -> list[tuple[str, str]]:
    """A realistic mix of (kind, target): searches (words, phrases, typos, filters, pages), pages, completions."""
    scan = load_corpus(corpus)
    articles = sorted((item[0] if isinstance(item, tuple) else item for item in scan.articles), key=lambda article: article.id)
    rng = random.Random(seed)
    return [_one_request(rng, rng.choice(articles)) for _ in range(size)]


def _one_request(rng: random.Random, article: Any) -> tuple[str, str]:
    words = [word for word in re.findall(r"[a-z]+", article.title.lower()) if len(word) > 3] or ["drug"]
    picked = rng.sample(words, k=min(len(words), rng.randint(1, 4)))
    roll = rng.random()
    if roll < 0.28:
        params: dict[str, Any] = {"q": " ".join(picked)}
        if rng.random() < 0.2:
            params["page"] = 2
        if rng.random() < 0.2:
            params["subject"] = article.subject
        if rng.random() < 0.2:
            params["per_page"] = rng.choice([5, 20, 50])
        return "api", "/api/search?" + urllib.parse.urlencode(params)
    if roll < 0.36:
        tricky = rng.choice([f'"{" ".join(picked[:2])}"', f"{picked[0]} OR {rng.choice(WORDS)}",
                             f"{picked[0]} -{rng.choice(WORDS)}", f"{picked[0][:4]}*", _typo(rng, picked[0])])
        return "api", "/api/search?" + urllib.parse.urlencode({"q": tricky})
    if roll < 0.58:
        return "page", "/search?" + urllib.parse.urlencode({"q": " ".join(picked)})
    if roll < 0.78:
        query = f"?{urllib.parse.urlencode({'q': picked[0]})}" if rng.random() < 0.4 else ""
        return "article", article.url + query
    if roll < 0.88:
        return "suggest", "/api/suggest?" + urllib.parse.urlencode({"q": picked[0][: rng.randint(2, 5)]})
    if roll < 0.94:
        return "json-article", f"/api/articles/{article.id}"
    if roll < 0.98:
        return "embed", "/embed?" + urllib.parse.urlencode({"q": " ".join(picked)})
    return "health", "/healthz"


def _typo(rng: random.Random, word: str) -> str:
    cut = rng.randrange(1, len(word))
    return word[:cut] + word[cut + 1:]


def with_marker(target: str, seq: int) -> str:
    """Tag a request so the access log line (worker pid, generation) can be matched to it."""
    return f"{target}{'&' if '?' in target else '?'}rq={seq}"


def run_load(
    port: int,
    next_target: Callable[[int], tuple[str, str]],
    *,
    total: int,
    concurrency: int,
    max_seconds: float,
    keep_going: Callable[[], bool] = lambda: False,
    max_total: int | None = None,
    reconnect_every: int = 25,
    keep_body: Callable[[str], bool] = lambda kind: False,
) -> list[Sample]:
    """Send at least ``total`` requests from ``concurrency`` keep-alive clients (more while ``keep_going()``).

    Bounded twice: never more than ``max_total`` requests (default 4 x total)
    and never longer than ``max_seconds``. Clients reconnect every
    ``reconnect_every`` requests so every worker gets connections.
    """
    cap = max_total or 4 * total
    lock = threading.Lock()
    counter = iter(range(cap))
    samples: list[Sample] = []
    deadline = time.monotonic() + max_seconds

    def claim() -> int | None:
        with lock:
            seq = next(counter, None)
        if seq is None or time.monotonic() > deadline or (seq >= total and not keep_going()):
            return None
        return seq

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        mine: list[Sample] = []
        used = 0
        while (seq := claim()) is not None:
            kind, target = next_target(seq)
            target = with_marker(target, seq)
            if connection is None or used >= reconnect_every:
                if connection is not None:
                    connection.close()
                connection, used = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
            used += 1
            started = time.monotonic()
            try:
                connection.request("GET", target)
                response = connection.getresponse()
                body = response.read()
                header = response.getheader("X-Index-Generation")
                mine.append(Sample(seq, kind, target, started, time.monotonic(), response.status,
                                   int(header) if header else None, body if keep_body(kind) else b""))
            except (OSError, http.client.HTTPException) as error:
                mine.append(Sample(seq, kind, target, started, time.monotonic(), 0, None, error=repr(error)))
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + 60)
    return sorted(samples, key=lambda sample: sample.seq)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100, in steps of 0.1) of ``values``; 0 for none."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=1000, method="inclusive")[int(pct * 10) - 1]


_LOG_LINE = re.compile(r"[?&]rq=(\d+)[ &].* pid=<(\d+)> gen=(\S+)")


def served_by(log: str) -> dict[int, tuple[int, str]]:
    """seq -> (worker pid, generation) from the access log."""
    found: dict[int, tuple[int, str]] = {}
    for line in log.splitlines():
        match = _LOG_LINE.search(line)
        if match:
            found[int(match.group(1))] = (int(match.group(2)), match.group(3))
    return found
