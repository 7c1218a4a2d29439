"""TMF query strings into the neutral query form (REST_CONTRACT.md, "Query contract"). Plain Python.

One implementation for every caller: REST collection queries (rest_compat.params) and hub `query` strings,
which use the same filter syntax applied to an event (resolvers.rules.matching).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from resolvers.rules.errors import InvalidQuery
from store.query_form import OPS, Condition, ListQuery, SortKey

RESERVED = ("fields", "sort", "offset", "limit")
_SPLIT = re.compile(r"(?<!\\)[,;]")


def split_values(raw: str) -> list[str]:
    """`a,b` and `a;b` are two values; `\\,` and `\\;` keep a literal separator."""
    return [v.replace("\\,", ",").replace("\\;", ";") for v in _SPLIT.split(raw)]


def _int(name: str, raw: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise InvalidQuery(name, f"must be a whole number of zero or more; got {raw[:40]!r}")
    if len(raw.strip().lstrip("0")) > 15:  # beyond any collection (and Python's int-from-text digit limit)
        raise InvalidQuery(name, f"is too large: {raw.strip()[:40]}")
    return int(raw)


def parse_filter_key(key: str, value: str) -> tuple[tuple[str, ...], str, str]:
    """(path, op, value) from one `key=value` pair: `a.gt=`, `a*=` (regex), `a=~re` (regex)."""
    if key.endswith("*"):
        return tuple(key[:-1].split(".")), "regex", value
    parts = key.split(".")
    op = "eq"
    if len(parts) > 1 and parts[-1] in OPS:
        op = parts.pop()
    if op == "eq" and value.startswith("~"):
        return tuple(parts), "regex", value[1:]
    return tuple(parts), op, value


def parse(query_string: str, *, allow: tuple[str, ...] = RESERVED) -> ListQuery:
    """Parse a raw query string. Different attributes AND; several values of one attribute OR."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    grouped: dict[tuple[tuple[str, ...], str], list[str]] = {}
    fields: frozenset[str] | None = None
    sort: list[SortKey] = []
    offset, limit = 0, None
    for key, raw in pairs:
        if key == "fields":
            names = [n.strip() for n in raw.split(",") if n.strip()]
            if not names:
                raise InvalidQuery("fields", "lists no attribute")
            fields = (fields or frozenset()) | frozenset(names)
        elif key == "sort":
            for part in raw.split(","):
                name = part.strip()
                if not name:
                    raise InvalidQuery("sort", f"has an empty key in {raw!r}")
                descending = name.startswith("-")
                sort.append(SortKey(tuple(name.lstrip("+-").split(".")), descending))
        elif key == "offset":
            offset = _int("offset", raw)
        elif key == "limit":
            limit = _int("limit", raw)
        elif not key:
            raise InvalidQuery(raw, "is a query parameter without a name")
        else:
            path, op, value = parse_filter_key(key, raw)
            values = [value] if op == "regex" else split_values(value)
            grouped.setdefault((path, op), []).extend(values)
    conditions = tuple(Condition(path, op, tuple(values)) for (path, op), values in grouped.items())  # type: ignore[arg-type]
    return ListQuery(conditions=conditions, sort=tuple(sort), offset=offset, limit=limit, fields=fields)
