"""How scalar values are read for indexing and comparison: instant, number or text, from the value's form."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, overload

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_SPACED_OFFSET = re.compile(r"([Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
_NUM_RE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime, or None when `text` is not one.

    A '+' in an offset arrives as a space when a client did not percent-encode it; that is mended here.
    """
    if len(text) < 10 or not text.lstrip()[:4].isdigit():  # cheap refusal of most texts (bulk import, matching)
        return None
    candidate = _SPACED_OFFSET.sub(r"\1+\2", text.strip())
    if not _DATE_RE.match(candidate):
        return None
    try:
        parsed = datetime.fromisoformat(candidate.replace("z", "Z"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a calendar date, or beyond year 1..9999 once in UTC
        return None


def parse_number(text: str) -> float | None:
    """The number a text spells, or None (also for numbers beyond a double's range, which no index holds)."""
    first = text.lstrip()[:1]
    if not (first == "-" or first.isdigit()):  # cheap refusal of most texts (isdigit: every digit \d matches)
        return None
    if not _NUM_RE.match(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return parse_number(value) if isinstance(value, str) else None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double's range: kept in the document, not in the index
        return None
    return number if math.isfinite(number) else None


def scalar_text(value: Any) -> str:
    """The text form a filter compares with: booleans as true/false, numbers as JSON writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def flatten(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every scalar leaf of `doc` with its dotted path; arrays are looked through (no index in the path)."""
    out: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(doc, list):
        for item in doc:
            out.extend(flatten(item, prefix))
    elif prefix:
        out.append((prefix, doc))
    return out


# Text longer than this is indexed by its prefix: `value_text` holds the first PREFIX characters (what the
# (path, value_text) index holds, well under a PostgreSQL btree entry's limit whatever the value), `value_long`
# the whole text (NULL for shorter values). Filters compare the whole text (`full_text`), found by the prefix.
PREFIX = 200


def attr_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the attribute index for one document (without the owner id)."""
    rows = []
    for path, value in flatten(doc):
        text = scalar_text(value)
        long_text = None
        if len(text) > PREFIX:
            text, long_text = text[:PREFIX], text
        number = _number(value)
        instant = parse_instant(value) if isinstance(value, str) and long_text is None else None
        rows.append({"path": path[:512], "value_text": text, "value_long": long_text, "value_num": number,
                     "value_time": instant})
    return rows


def full_text(row: Mapping[str, Any]) -> str:
    """The whole text of an index row (`attr_rows`), long or not."""
    long_text: str | None = row.get("value_long")
    return long_text if long_text is not None else str(row["value_text"])


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored instant as an aware UTC datetime: SQLite gives back naive values (written in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
