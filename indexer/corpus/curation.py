"""The maintainers' curation files at the corpus folder's root: synonyms and pinned answers.

``synonyms.txt`` is in Solr's synonym format: ``heart attack, myocardial
infarction`` makes each term search for the others too; ``flu => influenza``
makes the left side search for the right one as well, not the other way; ``#``
starts a comment. ``pins.yaml`` maps a query, normalised as searches are, to
the ids of articles listed first for it, in that order. Neither is an article:
a bad line is reported like a bad article (path, line, what to fix), and the
rest of the file is kept. Builds and updates copy both into the index, so they
apply at query time from the next ``index update`` on, with no full build.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from indexer.corpus.articles import ArticleError

__all__ = ["SYNONYMS_FILE", "PINS_FILE", "Curation", "read_curation", "unknown_pins", "normalise_query"]

SYNONYMS_FILE = "synonyms.txt"
PINS_FILE = "pins.yaml"
#: Past these, a file is refused as a whole: curation is for a maintainer's hand-kept lists.
MAX_CURATION_BYTES = 1 << 20
MAX_PINS_PER_QUERY = 10
_SPACES = re.compile(r"\s+")


def normalise_query(text: str) -> str:
    """A query as pins and synonyms compare it: lower-cased, spaces collapsed, outer punctuation dropped."""
    return _SPACES.sub(" ", text.lower()).strip(" \t?!.,;:\"'")


@dataclass(frozen=True)
class Curation:
    """What the maintainers asked for: synonyms by term, pinned article ids by query."""

    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # term -> what it searches for too
    pins: dict[str, tuple[int, ...]] = field(default_factory=dict)  # normalised query -> article ids, in order
    pin_lines: dict[str, int] = field(default_factory=dict, compare=False)  # query -> its line in pins.yaml (not stored)

    def also_for(self, words: tuple[str, ...]) -> list[str]:
        """The synonyms of the terms (single words or runs of words) in ``words``, in order, once each."""
        lowered = [word.lower().strip("\"'()?!.,;:") for word in words]
        found: dict[str, None] = {}
        longest = max((term.count(" ") + 1 for term in self.synonyms), default=0)
        for start in range(len(lowered)):
            for size in range(1, min(longest, len(lowered) - start) + 1):
                for other in self.synonyms.get(" ".join(lowered[start : start + size]), ()):
                    found.setdefault(other, None)
        present = set(lowered)
        return [other for other in found if not set(other.split()) <= present]

    def pinned(self, query: str) -> tuple[int, ...]:
        return self.pins.get(normalise_query(query), ())

    def to_json(self) -> str:
        return json.dumps({"synonyms": self.synonyms, "pins": self.pins}, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Curation":
        data = json.loads(text)
        return cls(
            {term: tuple(others) for term, others in data.get("synonyms", {}).items()},
            {query: tuple(ids) for query, ids in data.get("pins", {}).items()},
        )


def read_curation(corpus: Path) -> tuple[Curation, list[ArticleError]]:
    """Read ``synonyms.txt`` and ``pins.yaml`` from the corpus root (each optional)."""
    errors: list[ArticleError] = []
    synonyms = _read_synonyms(corpus / SYNONYMS_FILE, errors)
    lines: dict[str, int] = {}
    pins = _read_pins(corpus / PINS_FILE, errors, lines)
    return Curation(synonyms, pins, lines), errors


def unknown_pins(curation: Curation, known_ids: set[int]) -> list[ArticleError]:
    """A pin to an id no article has, reported at its line of ``pins.yaml``."""
    return [
        ArticleError(PINS_FILE, f"{query!r} pins article {article_id}, which no article has; fix the id or remove it", curation.pin_lines.get(query))
        for query, ids in curation.pins.items()
        for article_id in ids
        if article_id not in known_ids
    ]


def _read_text(path: Path, errors: list[ArticleError]) -> str | None:
    try:
        if path.stat().st_size > MAX_CURATION_BYTES:
            errors.append(ArticleError(path.name, f"larger than {MAX_CURATION_BYTES // 1024} KB; keep it to hand-kept lists"))
            return None
        return path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        errors.append(ArticleError(path.name, f"unreadable ({error}); save it as UTF-8 text"))
        return None


def _read_synonyms(path: Path, errors: list[ArticleError]) -> dict[str, tuple[str, ...]]:
    text = _read_text(path, errors)
    found: dict[str, dict[str, None]] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        sides = line.split("=>")
        if len(sides) > 2:
            errors.append(ArticleError(path.name, "more than one '=>': write 'a, b => c' or 'a, b, c'", number))
            continue
        groups = [[normalise_query(term) for term in side.split(",")] for side in sides]
        if any(not term for group in groups for term in group):
            errors.append(ArticleError(path.name, "an empty term: separate terms with single commas, as in 'flu, influenza'", number))
            continue
        if len(groups) == 1 and len(groups[0]) < 2:
            errors.append(ArticleError(path.name, "a term alone: list two or more ('a, b') or map one ('a => b')", number))
            continue
        sources, targets = (groups[0], groups[0]) if len(groups) == 1 else (groups[0], groups[1])
        for term in sources:
            others = found.setdefault(term, {})
            for other in targets:
                if other != term:
                    others.setdefault(other, None)
    return {term: tuple(others) for term, others in found.items() if others}


def _read_pins(path: Path, errors: list[ArticleError], lines: dict[str, int]) -> dict[str, tuple[int, ...]]:
    text = _read_text(path, errors)
    if not text:
        return {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        errors.append(ArticleError(path.name, f"invalid YAML ({getattr(error, 'problem', error)}); fix the syntax", mark.line + 1 if mark else None))
        return {}
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        errors.append(ArticleError(path.name, "must map each query to a list of article ids, as in 'drug tolerance: [190457]'", 1))
        return {}
    pins: dict[str, tuple[int, ...]] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        query = normalise_query(str(yaml.safe_load(yaml.serialize(key)) or ""))
        ids = _ids(yaml.safe_load(yaml.serialize(value)))
        if not query:
            errors.append(ArticleError(path.name, "an empty query: write the query a student types", line))
        elif ids is None:
            errors.append(ArticleError(path.name, f"{query!r} must map to a list of article ids (whole numbers), as in [190457, 500004]", line))
        elif len(ids) > MAX_PINS_PER_QUERY:
            errors.append(ArticleError(path.name, f"{query!r} pins {len(ids)} articles; pin at most {MAX_PINS_PER_QUERY}", line))
        else:
            pins[query] = ids
            lines[query] = line
    return pins


def _ids(value: Any) -> tuple[int, ...] | None:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in values):
        return None
    return tuple(dict.fromkeys(values))
