"""Parse one article file: YAML front matter between ``---`` lines, in the seed's format.

Parsing is strict about what the search needs (a title, an answer, a safe url)
and lenient about the rest: unknown fields are kept as they are, so a corpus
can carry data this project does not know about yet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

try:  # libyaml is several times faster; the pure loader is the fallback.
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader  # type: ignore[assignment]

__all__ = [
    "Article",
    "ArticleError",
    "RelatedLink",
    "MAX_FILE_BYTES",
    "parse_article",
    "answer_markdown",
]

#: Files above this size are refused: a Q&A answer is a few kilobytes, and a
#: huge one is almost always a mistake (or an attack) that would bloat the index.
MAX_FILE_BYTES = 1_000_000
#: Bounds on what the front matter may expand to (alias bombs, deep nesting).
MAX_YAML_NODES = 10_000
MAX_YAML_DEPTH = 20
MAX_RELATED = 50

_URL_RE = re.compile(r"^/[A-Za-z0-9._~\-/]*$")
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9._\-]+$")
_RELATED_KEY_RE = re.compile(r"^related_article(\d+)$")


class ArticleError(ValueError):
    """An article file that cannot be indexed; says where and what to fix."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.source, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class RelatedLink:
    id: int | None
    title: str
    subject: str
    url: str
    line: int | None = field(default=None, compare=False)  # its key's line in the file (content lint); not stored

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "subject": self.subject, "url": self.url}


@dataclass(frozen=True)
class Article:
    """One Q&A article, every field of the seed format kept."""

    id: int
    title: str
    question: str
    answer: str  # Markdown, with the seed's literal "\n" turned into real line breaks
    url: str
    subject: str = "General"
    article_title: str = ""
    date: dt.date | None = None
    author: str = ""
    file_name: str = ""
    score: float | None = None
    seo_title: str = ""
    page_description: str = ""
    keywords: tuple[str, ...] = ()
    related: tuple[RelatedLink, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str = ""
    #: The file line of each front-matter field given a value (content lint points there); not stored.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the shape of ``/api/articles/<id>``)."""
        return {
            "id": self.id,
            "title": self.title,
            "article_title": self.article_title,
            "question": self.question,
            "answer": self.answer,
            "url": self.url,
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "author": self.author,
            "file_name": self.file_name,
            "score": self.score,
            "seo": {
                "title": self.seo_title,
                "page_description": self.page_description,
                "page_keywords": list(self.keywords),
            },
            "related": [link.to_dict() for link in self.related],
            "extra": self.extra,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Article":
        """Rebuild an article from :meth:`to_dict` output (what the index stores)."""
        seo = data.get("seo") or {}
        date = dt.date.fromisoformat(data["date"]) if data.get("date") else None
        return cls(
            id=data["id"],
            title=data["title"],
            article_title=data.get("article_title", ""),
            question=data.get("question", ""),
            answer=data["answer"],
            url=data["url"],
            subject=data.get("subject", "General"),
            date=date,
            author=data.get("author", ""),
            file_name=data.get("file_name", ""),
            score=data.get("score"),
            seo_title=seo.get("title", ""),
            page_description=seo.get("page_description", ""),
            keywords=tuple(seo.get("page_keywords", ())),
            related=tuple(RelatedLink(**link) for link in data.get("related", ())),
            extra=data.get("extra", {}),
            source=data.get("source", ""),
        )


def answer_markdown(raw: str) -> str:
    """Turn the seed's literal two characters ``\\n`` into real line breaks."""
    return raw.replace("\\r\\n", "\n").replace("\\n", "\n")


def parse_article(text: str, source: str = "<string>") -> Article:
    """Parse an article's text; raise :class:`ArticleError` saying what to fix.

    :param text: the whole file, already decoded.
    :param source: the path shown in error messages.
    """
    front, first_line = _split_front_matter(text, source)
    data = _load_yaml(front, source, first_line)
    _check_shape(data, source, front, first_line)
    fields: dict[str, Any] = {"source": source}
    extra: dict[str, Any] = {}
    related: dict[int, RelatedLink] = {}
    lines: dict[str, int] = {}
    for key, value in data.items():
        key = str(key)
        line = _line_of(front, key, first_line)
        if line is not None and value not in (None, ""):
            lines[key] = line
        if (match := _RELATED_KEY_RE.match(key)) is not None:
            link = _related(value, source, line)
            if link is not None:
                related[int(match.group(1))] = link
        elif key == "seo":
            fields.update(_seo(value, source, line))
        elif key in _NORMALISERS:
            name, normalise = _NORMALISERS[key]
            fields[name] = normalise(value, source, line, key)
        else:
            extra[key] = value
    if len(related) > MAX_RELATED:
        raise ArticleError(source, f"{len(related)} related articles; at most {MAX_RELATED} are allowed")
    for required in ("id", "title", "answer", "url"):
        if not fields.get(required) and fields.get(required) != 0:
            raise ArticleError(source, f"missing field '{required}': add it to the front matter")
    if not fields.get("question"):
        fields["question"] = fields["title"]
    if not fields.get("subject"):
        fields["subject"] = "General"
        lines.pop("subject", None)
    if (keywords_line := _line_of(front, "", first_line, r"[ \t]+page_keywords")) is not None and fields.get("keywords"):
        lines["seo.page_keywords"] = keywords_line
    fields["related"] = tuple(related[n] for n in sorted(related))
    fields["extra"] = extra
    fields["lines"] = lines
    return Article(**fields)


def _split_front_matter(text: str, source: str) -> tuple[str, int]:
    """Return the YAML between the ``---`` lines and the file line it starts on."""
    if "\x00" in text:
        raise ArticleError(source, "file contains NUL bytes: it looks binary, not a Markdown article")
    if not text.strip():
        raise ArticleError(source, "file is empty: write front matter between '---' lines", 1)
    body = text.lstrip("\ufeff")
    lines = body.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ArticleError(source, "no front matter: the file must start with a '---' line", 1)
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() == "---":
            return "\n".join(lines[1 : number - 1]), 2
    raise ArticleError(source, "front matter is not closed: add a '---' line after it", len(lines))


def _load_yaml(front: str, source: str, first_line: int) -> Any:
    try:
        return yaml.load(front, Loader=SafeLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as error:
        # The context mark is where the broken construct starts (e.g. an unclosed "["),
        # which is where a person has to look; the problem mark is where YAML gave up.
        mark = error.context_mark or error.problem_mark
        line = mark.line + first_line if mark is not None else None
        problem = error.problem or "invalid YAML"
        raise ArticleError(source, f"invalid YAML: {problem}; fix the front matter", line) from None
    except yaml.YAMLError as error:
        raise ArticleError(source, f"invalid YAML: {error}") from None
    except RecursionError:
        raise ArticleError(source, "YAML is nested too deeply to read") from None


def _check_shape(data: Any, source: str, front: str, first_line: int) -> None:
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise ArticleError(source, f"front matter holds {kind}, not 'key: value' fields", first_line)
    budget = [MAX_YAML_NODES]

    def walk(value: Any, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ArticleError(source, f"front matter holds over {MAX_YAML_NODES} values (too many fields, or YAML aliases that multiply); trim it")
        if depth > MAX_YAML_DEPTH:
            raise ArticleError(source, f"front matter is nested over {MAX_YAML_DEPTH} levels deep")
        if isinstance(value, dict):
            for item in value.values():
                walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, depth + 1)

    walk(data, 0)


def _line_of(front: str, key: str, first_line: int, pattern: str | None = None) -> int | None:
    match = re.search(rf"^{pattern or re.escape(key)}\s*:", front, re.MULTILINE)
    return front.count("\n", 0, match.start()) + first_line if match else None


def _text(value: Any, source: str, line: int | None, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        kind = type(value).__name__
        raise ArticleError(source, f"'{key}' must be text, not a {kind}; quote it or write one line", line)
    return str(value).strip()


def _answer(value: Any, source: str, line: int | None, key: str) -> str:
    return answer_markdown(_text(value, source, line, key))


def _id(value: Any, source: str, line: int | None, key: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ArticleError(source, f"'id' must be a whole number, not {value!r}", line) from None
    if not 0 <= number < 2**63:
        raise ArticleError(source, f"'id' {number} is out of range (0 to 2**63-1)", line)
    return number


def _date(value: Any, source: str, line: int | None, key: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ArticleError(source, f"'date' {value!r} is not a date: write it as YYYY-MM-DD", line) from None


def _url(value: Any, source: str, line: int | None, key: str) -> str:
    url = _text(value, source, line, key)
    if not _URL_RE.match(url) or "/../" in url + "/" or "/./" in url + "/" or "//" in url:
        raise ArticleError(
            source, f"'url' {url!r} must be a site path like /learn/<subject>/questions/<slug>, without '..'", line
        )
    return url


def _file_name(value: Any, source: str, line: int | None, key: str) -> str:
    name = _text(value, source, line, key)
    if name and (not _FILE_NAME_RE.match(name) or name in (".", "..")):
        raise ArticleError(source, f"'file_name' {name!r} must be a plain file name, no '/' or '..'", line)
    return name


def _score(value: Any, source: str, line: int | None, key: str) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ArticleError(source, f"'score' must be a number, not {value!r}", line) from None


def _keywords(value: Any, source: str, line: int | None) -> tuple[str, ...]:
    if isinstance(value, list):
        items = [_text(item, source, line, "seo.page_keywords") for item in value]
    else:
        items = _text(value, source, line, "seo.page_keywords").split(",")
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _seo(value: Any, source: str, line: int | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArticleError(source, "'seo' must hold title, page_description and page_keywords fields", line)
    return {
        "seo_title": _text(value.get("title"), source, line, "seo.title"),
        "page_description": _text(value.get("page_description"), source, line, "seo.page_description"),
        "keywords": _keywords(value.get("page_keywords"), source, line),
    }


def _related(value: Any, source: str, line: int | None) -> RelatedLink | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ArticleError(source, "a related_articleN entry must hold id, title, subject and url", line)
    url = _url(value.get("url"), source, line, "url") if value.get("url") else ""
    raw_id = value.get("id")
    link_id = _id(raw_id, source, line, "id") if raw_id not in (None, "") else None
    return RelatedLink(
        id=link_id,
        title=_text(value.get("title"), source, line, "title"),
        subject=_text(value.get("subject"), source, line, "subject"),
        url=url,
        line=line,
    )


_Normaliser = Callable[[Any, str, "int | None", str], Any]
#: front-matter key -> (Article attribute, normaliser); like Pelican's METADATA_PROCESSORS.
_NORMALISERS: dict[str, tuple[str, _Normaliser]] = {
    "id": ("id", _id),
    "title": ("title", _text),
    "article_title": ("article_title", _text),
    "question": ("question", _text),
    "answer": ("answer", _answer),
    "subject": ("subject", _text),
    "date": ("date", _date),
    "author": ("author", _text),
    "file_name": ("file_name", _file_name),
    "url": ("url", _url),
    "score": ("score", _score),
}
