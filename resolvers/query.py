"""Checking a neutral query before the store runs it: known attributes, operators, regexes, paging."""

from __future__ import annotations

import re
from dataclasses import replace

from resolvers.errors import InvalidQuery
from resolvers.validation import known_attributes
from store.query import OPS, Condition, ListQuery, Page, SortKey

__all__ = ["OPS", "Condition", "ListQuery", "Page", "SortKey", "check"]

DEFINITIONS = {"service": "Service", "monitor": "Monitor"}
ALWAYS = frozenset({"id", "href", "@type", "@baseType", "@schemaLocation"})


def attributes(resource: str) -> frozenset[str]:
    return known_attributes(DEFINITIONS[resource]) | ALWAYS


def _check_name(resource: str, path: tuple[str, ...], extensions_ok: bool, what: str) -> None:
    if not path or any(not part for part in path):
        raise InvalidQuery(".".join(path), f"is not a valid {what} path")
    if path[0] not in attributes(resource) and not extensions_ok:
        raise InvalidQuery(
            ".".join(path),
            f"is not an attribute of {DEFINITIONS[resource]}"
            " (attributes of a subclass can be used together with an @type filter)",
        )


def check(resource: str, query: ListQuery, max_limit: int) -> ListQuery:
    """The query, with the page bound applied; InvalidQuery names the first parameter at fault."""
    extensions_ok = any(c.path == ("@type",) for c in query.conditions)
    for cond in query.conditions:
        _check_name(resource, cond.path, extensions_ok, "filter")
        if cond.op not in OPS:
            raise InvalidQuery(cond.dotted, f"unknown operator {cond.op!r}; use one of {', '.join(OPS)}")
        if not cond.values:
            raise InvalidQuery(cond.dotted, "needs a value")
        if cond.op == "regex":
            for value in cond.values:
                try:
                    re.compile(value)
                except re.error as exc:
                    raise InvalidQuery(cond.dotted, f"{value!r} is not a valid regular expression: {exc}") from exc
    for key in query.sort:
        _check_name(resource, key.path, extensions_ok, "sort")
    for name in (query.fields or frozenset()) - {"none"}:
        _check_name(resource, (name,), extensions_ok, "fields")
    if query.offset < 0:
        raise InvalidQuery("offset", "must be zero or more")
    if query.limit is not None and query.limit < 0:
        raise InvalidQuery("limit", "must be zero or more")
    limit = max_limit if query.limit is None else min(query.limit, max_limit)
    return replace(query, limit=limit)


def select_fields(item: dict[str, object], fields: frozenset[str] | None) -> dict[str, object]:
    """TMF attribute selection: `id` plus the listed first-level attributes; `none` gives id and href."""
    if fields is None:
        return item
    if fields == frozenset({"none"}):
        return {k: item[k] for k in ("id", "href") if k in item}
    return {k: v for k, v in item.items() if k == "id" or k in fields}
