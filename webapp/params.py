"""Read request parameters defensively: whatever arrives, a view gets a usable value or a 400.

Werkzeug already decodes invalid UTF-8 in the query string to U+FFFD, so
text is always a ``str``; here it is bounded and stripped of control
characters, and numbers are whole ASCII numbers within limits. A zero
fraction (``2.0``) is a whole number too, as it is in JSON Schema, so a
client that types the OpenAPI description's integers as numbers is understood.
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.exceptions import BadRequest

__all__ = ["MAX_RAW_QUERY", "text_arg", "subjects_arg", "years_arg", "sort_arg", "int_arg", "clamped_int_arg"]

#: A cheap bound before the indexer's own cleaning (which keeps 500 characters).
MAX_RAW_QUERY = 2000
MAX_SUBJECT = 200
#: Values of one repeated parameter read at most (the indexer refuses more than 20 anyway).
MAX_REPEATS = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHOLE = re.compile(r"([+-]?[0-9]{1,12})(?:\.0+)?")


def text_arg(name: str, limit: int = MAX_RAW_QUERY) -> str:
    """Return parameter ``name`` (or ""), cut to ``limit`` characters, control characters removed."""
    value = request.args.get(name, "")[:limit]
    return _CONTROL.sub(" ", value)


def subjects_arg() -> list[str]:
    """Return every ``subject`` given (``subject=A&subject=B`` means either); the indexer drops empty ones."""
    values = (_CONTROL.sub(" ", value[:MAX_SUBJECT]) for value in request.args.getlist("subject")[:MAX_REPEATS])
    return [" ".join(value.split()) for value in values]


def years_arg() -> list[str]:
    """Return every ``year`` given, as typed (the indexer checks they are four digits, or empty)."""
    return [value[:20] for value in request.args.getlist("year")[:MAX_REPEATS]]


def sort_arg() -> str:
    """Return ``sort`` as typed (the indexer checks it), or "" for the default."""
    return text_arg("sort", 20)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Return a whole number from ``low`` to ``high``; raise a 400 that states the limits.

    Only an empty value means the default: white space is not a number (``limit=%0B``
    was once read as empty, which the OpenAPI description does not allow).
    """
    raw = request.args.get(name, "")
    if raw == "":
        return default
    number = _whole(raw)
    if number is None or not low <= number <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}; for example {name}={default}")
    return number


def clamped_int_arg(name: str, default: int, low: int, high: int) -> int:
    """Like :func:`int_arg`, but bring any bad value into range (for pages people type by hand)."""
    number = _whole(request.args.get(name, "").strip())
    if number is None:
        return default
    return min(max(number, low), high)


def _whole(raw: str) -> int | None:
    """The whole number ``raw`` spells in ASCII digits (``2``, ``+2``, ``2.0``), or None."""
    match = _WHOLE.fullmatch(raw)
    return int(match.group(1)) if match else None
