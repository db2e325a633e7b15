"""Synthetic corpora for benchmarks: seed-format articles with realistic word statistics.

Words are drawn from a Zipf distribution over a vocabulary ranked by how often
each word occurs in real English text found on this machine (the judged
collections' abstracts in ../shared/evaldata when present, else the licence
texts every Debian system ships). Each article: a question title, 6-8
keyword phrases, one of 12 subjects, a 300-600 word Markdown answer in
sentences and paragraphs (with a list and bold terms now and then) and 1-3
related links. Queries: 1-4 words, weighted toward mid-frequency words.

Deterministic for a given seed. Example::

    python tests/bench/generate.py 10000 /tmp/bench/corpus-10k --queries /tmp/bench/queries.txt
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
EVALDATA = ROOT.parent / "shared" / "evaldata"
TEXT_SOURCES = [
    EVALDATA / "nfcorpus" / "raw" / "corpus" / "human.jsonl.gz",
    EVALDATA / "scifact" / "raw" / "corpus_train.csv.gz",
    EVALDATA / "cranfield" / "raw" / "cran.all.1400.gz",
    EVALDATA / "medline" / "raw" / "MED.ALL.gz",
    EVALDATA / "cisi" / "raw" / "CISI.ALL.gz",
]
FALLBACK_SOURCES = [Path("/usr/share/common-licenses")]
SUBJECTS = [
    "Medicine", "Psychology", "Biology", "Chemistry", "Physics", "History",
    "Computer Science", "Economics", "Mathematics", "Geography", "Literature", "Philosophy",
]
QUESTION_STARTS = [
    "What is the role of {} in {}?", "How does {} affect {}?", "Why is {} important for {}?",
    "What are the main causes of {} in {}?", "How do {} and {} interact?", "What explains {} during {}?",
]
VOCABULARY_SIZE = 50_000
ZIPF_EXPONENT = 1.05
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")


def _texts() -> Iterator[str]:
    found = False
    for source in TEXT_SOURCES:
        if source.exists():
            found = True
            with gzip.open(source, "rt", encoding="utf-8", errors="replace") as handle:
                yield handle.read()
    if not found:
        for folder in FALLBACK_SOURCES:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    yield path.read_text("utf-8", errors="replace")


def vocabulary() -> list[str]:
    """Words of real English text, most frequent first."""
    counts: Counter[str] = Counter()
    for text in _texts():
        counts.update(_WORD.findall(text.lower()))
    return [word for word, _ in counts.most_common(VOCABULARY_SIZE) if len(word) > 1]


class WordSampler:
    """Draw words with Zipf probabilities over a frequency-ranked vocabulary."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        weights = [1 / (rank ** ZIPF_EXPONENT) for rank in range(1, len(words) + 1)]
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def draw(self, count: int) -> list[str]:
        cumulative, total, words, random_ = self.cumulative, self.total, self.words, self.rng.random
        return [words[bisect.bisect(cumulative, random_() * total)] for _ in range(count)]

    def mid(self, low: int = 150, high: int = 6000) -> str:
        """A mid-frequency word: specific enough to search for."""
        return self.words[self.rng.randrange(low, min(high, len(self.words)))]


def _answer(sampler: WordSampler, rng: random.Random, topic: list[str]) -> str:
    target = rng.randint(300, 600)
    paragraphs: list[str] = []
    written = 0
    while written < target:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = sampler.draw(rng.randint(8, 20))
            if rng.random() < 0.5:
                words[rng.randrange(len(words))] = rng.choice(topic)
            if rng.random() < 0.15:
                at = rng.randrange(len(words))
                words[at] = f"**{words[at]}**"
            sentences.append(" ".join(words).capitalize() + ".")
            written += len(words)
        if rng.random() < 0.2:
            items = [f"{n}. **{sampler.mid().capitalize()}**: " + " ".join(sampler.draw(8)) + "." for n in range(1, 4)]
            written += 27
            paragraphs.append("\\n".join(items))
        paragraphs.append(" ".join(sentences))
    return "\\n\\n".join(paragraphs)


def _slug(text: str, number: int) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:60].strip("-") + f"-{number}"


def articles(count: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """Yield (relative path, file text) for ``count`` articles."""
    rng = random.Random(seed)
    sampler = WordSampler(vocabulary(), rng)
    heads: list[tuple[int, str, str, str]] = []
    for number in range(count):
        topic = [sampler.mid() for _ in range(3)]
        subject = SUBJECTS[number % len(SUBJECTS)]
        title = rng.choice(QUESTION_STARTS).format(topic[0], topic[1]).capitalize()
        slug = _slug(title, number)
        folder = subject.lower().replace(" ", "-")
        url = f"/learn/{folder}/questions/{slug}"
        heads.append((1_000_000 + number, title, subject, url))
        keywords = ", ".join(" ".join(sampler.mid() for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(6, 8)))
        fields = {
            "_schema": "default", "id": 1_000_000 + number, "date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "title": title, "article_title": title, "date_format": "MMM DD, YYYY", "post_on_text": "Posted on",
            "seo": {"title": f"QuickTakes | {subject}", "page_description": f"About {topic[0]} and {topic[1]}.", "page_keywords": keywords},
            "author": "QuickTakes", "question": title, "answer": _answer(sampler, rng, topic), "subject": subject,
            "file_name": f"{slug}.md", "url": url, "score": -1.0,
        }
        for n in range(1, rng.randint(1, 3) + 1):
            if number:
                other = heads[rng.randrange(number)]
                fields[f"related_article{n}"] = {"id": other[0], "title": other[1], "subject": other[2], "url": other[3]}
        front = yaml.dump(fields, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, width=100000, allow_unicode=True)
        yield f"{folder}/{slug}.md", f"---\n{front}---\n\n&nbsp;"


def queries(count: int = 500, seed: int = 11) -> list[str]:
    """``count`` queries of 1-4 words, mostly mid-frequency words."""
    rng = random.Random(seed)
    sampler = WordSampler(vocabulary(), rng)
    made: dict[str, None] = {}  # (in order; a dict, since tens of thousands are asked for)
    while len(made) < count:
        size = rng.choice([1, 2, 2, 3, 3, 4])
        words = [sampler.mid(50, 8000) if rng.random() < 0.8 else sampler.draw(1)[0] for _ in range(size)]
        made.setdefault(" ".join(dict.fromkeys(words)), None)
    return list(made)


def write_corpus(count: int, out: Path, seed: int = 7) -> int:
    written = 0
    for relpath, text in articles(count, seed):
        path = out / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written += 1
    return written


def cached_corpus(count: int, workdir: Path) -> Path:
    """``workdir/corpus-COUNT``, written once: a ``.complete`` marker tells a finished one from a killed run's."""
    import shutil

    corpus = workdir / f"corpus-{count}"
    if not (corpus / ".complete").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        write_corpus(count, corpus)
        (corpus / ".complete").touch()
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=Path, help="also write 500 queries, one a line, here")
    args = parser.parse_args()
    written = write_corpus(args.count, args.out, args.seed)
    if args.queries:
        args.queries.write_text("\n".join(queries()) + "\n", encoding="utf-8")
    print(f"wrote {written} articles to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
