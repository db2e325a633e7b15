"""The sample corpus spread over three years, for the year facet and sorting by date.

Every sample article is dated in 2025, so a year facet over it has one value.
This copy keeps each article's month and day and moves the year by its
month: January to April 2023, May to August 2024, September on 2025. The
drug-tolerance article (id 500001) loses its date, to show undated articles.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers import SAMPLE_CORPUS

__all__ = ["UNDATED_ID", "write_dated_corpus", "year_for_month"]

UNDATED_ID = 500001
_DATE = re.compile(r"^date: 2025-(\d\d)-(\d\d)\n", re.MULTILINE)


def year_for_month(month: int) -> int:
    return 2023 if month <= 4 else 2024 if month <= 8 else 2025


def write_dated_corpus(target: Path) -> Path:
    """Copy the sample corpus to ``target`` with its dates spread over 2023-2025; return ``target``."""
    shutil.copytree(SAMPLE_CORPUS, target)
    for path in sorted(target.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if re.search(rf"^id: {UNDATED_ID}$", text, re.MULTILINE):
            text = _DATE.sub("", text, count=1)
        else:
            text = _DATE.sub(lambda m: f"date: {year_for_month(int(m[1]))}-{m[1]}-{m[2]}\n", text, count=1)
        path.write_text(text, encoding="utf-8")
    return target
