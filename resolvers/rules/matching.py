"""The neutral filter form evaluated against one JSON document in Python. Plain Python.

Same semantics as the SQL compiler (store.query_sql) over the attribute index, because it reads the very rows
that index would hold for the document (`store.values.attr_rows`):
- a condition holds when some scalar leaf at its dotted path (arrays looked through) satisfies one of its
  values (values OR); conditions AND;
- `eq` matches the text form, or the instant when the value is an ISO 8601 date-time, or the number when it
  is numeric; `gt`/`gte`/`lt`/`lte` compare instants when the value is a date-time, else numbers when it is
  numeric, else text; `regex` searches the text form.

Hub `query` strings (REST filter syntax applied to the event: `eventType=ServiceStateChangeEvent&
event.service.state=active`) are parsed by the REST parser (resolvers.rules.tmf_query) and checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from resolvers.rules.errors import InvalidQuery
from resolvers.rules.query_check import check_form
from resolvers.rules.tmf_query import parse
from store.patterns import search
from store.query_form import Condition
from store.values import attr_rows, full_text, parse_instant, parse_number

# First-level attributes of a TMF event: TMF688 `Event` plus TMF640's `fieldPath` and `timeOcurred` spelling.
EVENT_ATTRIBUTES = frozenset({
    "id", "href", "eventId", "eventTime", "eventType", "correlationId", "domain", "title", "description",
    "priority", "timeOccurred", "timeOcurred", "timeReceived", "fieldPath", "event", "source", "reportingSystem",
    "relatedParty", "analyticCharacteristic", "@type", "@baseType", "@schemaLocation",
})

Row = Mapping[str, Any]


def index(doc: Mapping[str, Any]) -> dict[str, list[Row]]:
    """The attribute-index rows of `doc`, grouped by dotted path."""
    out: dict[str, list[Row]] = {}
    for row in attr_rows(dict(doc)):
        out.setdefault(row["path"], []).append(row)
    return out


def matches(conditions: Sequence[Condition], doc: Mapping[str, Any]) -> bool:
    """True when `doc` satisfies every condition (an empty filter matches everything)."""
    if not conditions:
        return True
    return matches_index(conditions, index(doc))


def matches_index(conditions: Sequence[Condition], rows: Mapping[str, Sequence[Row]]) -> bool:
    """`matches` on the `index` of a document, built once for many filters (the hub: one event, many listeners)."""
    return all(holds(c, rows.get(c.dotted, ())) for c in conditions)


def holds(cond: Condition, rows: Iterable[Row]) -> bool:
    """Whether one condition holds for the index rows found at its path."""
    return any(_value_holds(cond.op, value, row) for row in rows for value in cond.values)


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return False  # SQL: a comparison with NULL is never true
    if op == "gt":
        return bool(left > right)
    if op == "gte":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _value_holds(op: str, value: str, row: Row) -> bool:
    text = full_text(row)
    if op == "regex":
        return search(value, text)
    instant: datetime | None = parse_instant(value)
    number = parse_number(value)
    if op == "eq":
        return (
            text == value
            or (instant is not None and row["value_time"] == instant)
            or (number is not None and row["value_num"] == number)
        )
    if instant is not None:
        return _compare(op, row["value_time"], instant)
    if number is not None:
        return _compare(op, row["value_num"], number)
    return _compare(op, text, value)


def parse_event_query(query: str | None) -> tuple[Condition, ...]:
    """A hub `query` string as conditions on the event; InvalidQuery names what is wrong with it."""
    if query is None or not query.strip():
        return ()
    parsed = parse(query.strip().lstrip("?"))
    for name, given in (("fields", parsed.fields is not None), ("sort", bool(parsed.sort)),
                        ("offset", parsed.offset != 0), ("limit", parsed.limit is not None)):
        if given:
            raise InvalidQuery(name, "does not apply to a hub query, which only filters events")
    for cond in parsed.conditions:
        if not cond.path or any(not part for part in cond.path):
            raise InvalidQuery(cond.dotted, "is not a valid filter path")
        if cond.path[0] not in EVENT_ATTRIBUTES:
            raise InvalidQuery(
                cond.dotted,
                "is not an attribute of an event; filter on the envelope (eventType, correlationId, ...) or on "
                "the resource under event (event.service.state, event.monitor.state)",
            )
        check_form(cond)
    return parsed.conditions
