"""How often the passage chosen for a cited abstract holds an evidence sentence (SciFact's claims).

SciFact's annotators marked, for each claim and each abstract it cites, the
sentences that support or contradict it (``evidence_sentences`` in
``raw/claims_<split>.csv``: positions in the abstract's sentence list in
``raw/corpus_<split>.csv.gz``). For each such (claim, abstract) pair this
scores three choices of what to show under the abstract's result:

- the passage :meth:`SearchService.passage` chooses (what the API calls ``passage_html``),
- the abstract's first sentence,
- the keyword snippet the results showed before passages (``snippet_html``).

A choice "holds" an evidence sentence when at least :data:`HELD_SHARE` of
that sentence's distinct words are in it (so a snippet window that cuts a
sentence short can still count, and a passage is not favoured for being a
whole sentence).
"""

from __future__ import annotations

import ast
import csv
import gzip
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from indexer import SearchService, plain_text

HELD_SHARE = 0.7
_WORD = re.compile(r"\w+")


@dataclass
class PassageOutcome:
    pairs: int = 0
    passage: int = 0
    first_sentence: int = 0
    snippet: int = 0

    def rate(self, count: int) -> float:
        return count / self.pairs if self.pairs else 0.0


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def holds(shown: str, evidence: list[str]) -> bool:
    words = _words(re.sub(r"</?mark>", "", shown))
    return any(len(_words(sentence) & words) >= HELD_SHARE * len(_words(sentence)) for sentence in evidence if _words(sentence))


def _sentences(cell: str) -> list[str]:
    strings = re.findall(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", cell.strip()[1:-1], re.S)
    return [ast.literal_eval(item).strip() for item in strings]


def measure(evaldata: Path, split: str, service: SearchService, article_of: dict[str, int], limit: int | None = None) -> PassageOutcome:
    """Score the three choices over every (claim, cited abstract with evidence) pair of ``split``."""
    raw = evaldata / "scifact" / "raw"
    csv.field_size_limit(sys.maxsize)
    with gzip.open(raw / f"corpus_{split}.csv.gz", "rt", encoding="utf-8") as handle:
        abstracts = {row["doc_id"]: _sentences(row["abstract"]) for row in csv.DictReader(handle)}
    outcome = PassageOutcome()
    with open(raw / f"claims_{split}.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows[:limit] if limit else rows:
        positions = [int(number) for number in re.findall(r"\d+", row["evidence_sentences"] or "")]  # "[1 9]" or "[4]"
        doc, sentences = row["evidence_doc_id"], abstracts.get(row["evidence_doc_id"], [])
        if not positions or not sentences or doc not in article_of:
            continue
        evidence = [sentences[position] for position in positions if position < len(sentences)]
        chosen = service.passage(row["claim"], article_of[doc])
        if chosen is None:
            continue
        outcome.pairs += 1
        outcome.passage += holds(chosen.passage.text, evidence)
        outcome.first_sentence += 0 in positions
        answer = service.article(article_id=article_of[doc])
        assert answer is not None
        outcome.snippet += holds(service.highlighter(row["claim"]).snippet(plain_text(answer.answer)).html, evidence)
    return outcome


def print_outcome(outcome: PassageOutcome) -> None:
    print(f"\nscifact passages: {outcome.pairs} (claim, cited abstract) pairs with evidence sentences")
    print(f"  holds an evidence sentence: passage {outcome.rate(outcome.passage):.3f}, first sentence "
          f"{outcome.rate(outcome.first_sentence):.3f}, keyword snippet {outcome.rate(outcome.snippet):.3f}")
    best_other = max(outcome.rate(outcome.first_sentence), outcome.rate(outcome.snippet))
    ratio = outcome.rate(outcome.passage) / best_other if best_other else 0.0
    print(f"  passage vs the better of the two: {ratio:.3f}x (bar 1.2x): {'MET' if ratio >= 1.2 else 'NOT MET'}")
