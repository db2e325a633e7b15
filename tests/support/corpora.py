"""Corpora on disk: article files in the seed's format, synthetic articles, copies of the sample corpus."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import yaml

from support import ROOT

__all__ = ["SAMPLE_CORPUS", "WORDS", "article_text", "write_synthetic", "copy_sample", "copy_corpus_and_index", "corpus_count"]

SAMPLE_CORPUS = ROOT / "corpus"
#: Synthetic articles draw their words from these (real terms, so stemming and ranking do real work).
WORDS = (
    "enzyme receptor tolerance opioid liver kidney neuron plasma dose glucose insulin cortex membrane "
    "protein gene mutation inflation demand supply revolution empire treaty velocity energy entropy "
    "photon electron catalyst equilibrium acid buffer memory conditioning placebo vaccine antibody"
).split()


def article_text(**overrides: Any) -> str:
    """Return an article file in the seed's format; ``overrides`` replace or add fields.

    A value of ``None`` removes that field.
    """
    slug = overrides.pop("slug", "a-test-article")
    fields: dict[str, Any] = {
        "_schema": "default",
        "id": 900001,
        "date": "2025-03-01",
        "title": "What is a test article?",
        "article_title": "What is a test article?",
        "date_format": "MMM DD, YYYY",
        "post_on_text": "Posted on",
        "seo": {"title": "QuickTakes | Testing", "page_description": "A test.", "page_keywords": "testing, fixtures"},
        "author": "QuickTakes",
        "question": "What is a test article?",
        "answer": "A test article exists for tests.\\n\\n1. **First**: one\\n2. **Second**: two",
        "subject": "Testing",
        "file_name": f"{slug}.md",
        "url": f"/learn/testing/questions/{slug}",
        "score": -1.0,
    }
    fields.update(overrides)
    fields = {key: value for key, value in fields.items() if value is not None}
    front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n&nbsp;"


def write_synthetic(folder: Path, count: int, *, words: int = 120, seed: int = 1, first_id: int = 100_000) -> None:
    """Write ``count`` small articles with varied words, in subject folders of 500 (``part-000``, ...)."""
    rng = random.Random(seed)
    for n in range(count):
        sub = folder / f"part-{n // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        slug = f"synthetic-{n}"
        title = f"Synthetic {n}: {rng.choice(WORDS)} and {rng.choice(WORDS)}"
        answer = " ".join(rng.choice(WORDS) for _ in range(words))
        seo = {"title": title, "page_description": title, "page_keywords": f"{rng.choice(WORDS)}, {rng.choice(WORDS)}"}
        (sub / f"{slug}.md").write_text(
            article_text(slug=slug, id=first_id + n, title=title, article_title=title, question=title,
                         answer=answer, seo=seo),
            encoding="utf-8",
        )


def copy_sample(folder: Path, synthetic: int = 0, **options: Any) -> Path:
    """A copy of the sample corpus at ``folder``, plus ``synthetic`` generated articles under ``synthetic/``."""
    shutil.copytree(SAMPLE_CORPUS, folder)
    if synthetic:
        write_synthetic(folder / "synthetic", synthetic, **options)
    return folder


def copy_corpus_and_index(built: tuple[Path, Path], root: Path) -> tuple[Path, Path]:
    """A private copy, under ``root``, of a corpus and the index built from it (both as ``corpus`` and ``index``)."""
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(built[0], corpus)
    shutil.copytree(built[1], index)
    return corpus, index


def corpus_count(corpus: Path) -> int:
    """How many article files ``corpus`` holds."""
    return sum(1 for _ in corpus.rglob("*.md"))
