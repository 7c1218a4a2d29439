"""Checking a neutral query before the store runs it: known attributes, operators, values, regexes, paging.

Paths are checked against the published schema as far as it describes them. A first-level attribute or a
sub-resource attribute the schema does not know is refused (a typo must not silently match nothing) unless
the query also filters on `@type`: subclass (extension) attributes are queryable together with their type.
Below a free-form value (a characteristic `value`) any path is accepted. A segment after a scalar attribute
is an operator this server does not know, and is refused by name.
"""

from __future__ import annotations

from dataclasses import replace

from resolvers.rules.errors import InvalidQuery
from resolvers.rules.validation import PathSchema, known_attributes, schema_at
from store.patterns import PatternRefused, compile_pattern
from store.query_form import OPS, Condition, Keyset, ListQuery, Page, SortKey
from store.values import parse_instant, parse_number

__all__ = ["OPS", "Condition", "Keyset", "ListQuery", "Page", "SortKey", "check"]

DEFINITIONS = {"service": "Service", "monitor": "Monitor"}
ALWAYS = frozenset({"id", "href", "@type", "@baseType", "@schemaLocation"})
# This server's documented extension attributes (docs/activation.md, "Held work"), filterable like published ones.
EXTENSIONS: dict[str, dict[str, dict[str, str]]] = {
    "monitor": {"held": {"type": "boolean"}, "heldReason": {"type": "string"}, "jeopardy": {"type": "boolean"},
                "heldAt": {"type": "string", "format": "date-time"},
                "jeopardyAt": {"type": "string", "format": "date-time"}},
}
MAX_OFFSET = 2**31 - 1  # beyond any collection; PostgreSQL binds OFFSET as a 32-bit integer
_OPERATOR_HINT = "use .eq, .gt, .gte, .lt, .lte (attr.gt=...), or a regex as attr*=... or attr=~..."


def attributes(resource: str) -> frozenset[str]:
    return known_attributes(DEFINITIONS[resource]) | ALWAYS


def _check_path(resource: str, path: tuple[str, ...], extensions_ok: bool, what: str) -> PathSchema | None:
    """The schema of a fully known path, None for an accepted path the schema does not describe."""
    dotted = ".".join(path)
    if not path or any(not part for part in path):
        raise InvalidQuery(dotted, f"is not a valid {what} path")
    definition = DEFINITIONS[resource]
    found = schema_at(definition, path)
    if found.known == len(path):
        return found
    extension = EXTENSIONS.get(resource, {}).get(path[0])
    if found.known == 0 and extension is not None and len(path) == 1:
        return PathSchema(1, extension)
    if found.known == 0 and path[0] in ALWAYS:
        found = PathSchema(1, {"type": "string"})
        if len(path) == 1:
            return found
    if found.known > 0 and found.scalar_type is not None:
        owner = ".".join(path[: found.known])
        if what == "filter" and found.known == len(path) - 1:
            raise InvalidQuery(dotted, f"unknown operator {path[-1]!r} on {owner}; {_OPERATOR_HINT}")
        raise InvalidQuery(dotted, f"{owner} is a {found.scalar_type} and has no attribute {path[found.known]!r}")
    if found.free_form and found.known > 0:
        return None
    if extensions_ok:
        return None
    if found.known == 0:
        raise InvalidQuery(
            dotted,
            f"is not an attribute of {definition}"
            " (attributes of a subclass can be used together with an @type filter)",
        )
    owner = ".".join(path[: found.known])
    raise InvalidQuery(
        dotted,
        f"{owner} has no attribute {path[found.known]!r} in the published schema"
        " (extension attributes can be used together with an @type filter)",
    )


def _check_values(cond: Condition, leaf: PathSchema) -> None:
    """Values must be of the attribute's published type, so that a typo is an error, not an empty page."""
    if cond.op == "regex":
        return  # a pattern matches text of any type; check_form has compiled it
    kind = leaf.scalar_type
    for value in cond.values:
        if leaf.schema.get("format") == "date-time":
            if parse_instant(value) is None:
                raise InvalidQuery(
                    cond.dotted, f"{value!r} is not an ISO 8601 date-time (e.g. 2024-05-01T12:00:00Z)"
                )
        elif kind == "boolean":
            if cond.op != "eq":
                raise InvalidQuery(cond.dotted, f"is a boolean and compares only for equality, not with {cond.op}")
            if value not in ("true", "false"):
                raise InvalidQuery(cond.dotted, f"expects true or false; got {value!r}")
        elif kind in ("number", "integer") and parse_number(value) is None:
            raise InvalidQuery(cond.dotted, f"expects a number; got {value!r}")
    allowed = leaf.schema.get("enum")
    if allowed and cond.op == "eq":
        wrong = [v for v in cond.values if v not in allowed]
        if wrong:
            raise InvalidQuery(cond.dotted, f"must be one of {', '.join(allowed)}; got {wrong[0]!r}")


def check_form(cond: Condition) -> None:
    """What any condition needs, whatever it filters: a known operator, values, no NUL, regexes that compile."""
    if cond.op not in OPS:
        raise InvalidQuery(cond.dotted, f"unknown operator {cond.op!r}; {_OPERATOR_HINT}")
    if not cond.values:
        raise InvalidQuery(cond.dotted, "needs a value")
    if any("\x00" in value for value in cond.values):
        raise InvalidQuery(cond.dotted, "a value contains a NUL character")
    if cond.op == "regex":
        for value in cond.values:
            try:
                compile_pattern(value)
            except PatternRefused as exc:
                raise InvalidQuery(cond.dotted, str(exc)) from exc


def check(resource: str, query: ListQuery, max_limit: int) -> ListQuery:
    """The query, with the page bound applied; InvalidQuery names the first parameter at fault."""
    extensions_ok = any(c.path == ("@type",) for c in query.conditions)
    for cond in query.conditions:
        check_form(cond)
        leaf = _check_path(resource, cond.path, extensions_ok, "filter")
        if leaf is not None:
            _check_values(cond, leaf)
    for key in query.sort:
        _check_path(resource, key.path, extensions_ok, "sort")
    for name in (query.fields or frozenset()) - {"none"}:
        _check_path(resource, (name,), extensions_ok, "fields")
    if query.offset < 0:
        raise InvalidQuery("offset", "must be zero or more")
    if query.offset > MAX_OFFSET:
        raise InvalidQuery("offset", f"must be at most {MAX_OFFSET}")
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
