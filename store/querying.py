"""Compile the neutral `ListQuery` into SQL over a document table: filters, sort, count and paging in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import UnaryExpression

from store.errors import BadValue
from store.query import Condition, ListQuery, SortKey
from store.values import parse_instant, parse_number


@dataclass(frozen=True)
class DocTable:
    """A document table with its attribute index and the paths that have a projection column."""

    table: Table
    attrs: Table
    owner: str
    projections: dict[str, str] = field(default_factory=dict)

    def column(self, dotted: str) -> ColumnElement[Any] | None:
        name = self.projections.get(dotted)
        return self.table.c[name] if name else None


def _instant(value: str, path: str) -> datetime:
    instant = parse_instant(value)
    if instant is None:
        raise BadValue(path, f"{value!r} is not an ISO 8601 date-time")
    return instant


def _projection_condition(col: ColumnElement[Any], cond: Condition) -> ColumnElement[bool]:
    path = cond.dotted
    if isinstance(col.type, DateTime):
        values: list[Any] = [_instant(v, path) for v in cond.values]
    elif isinstance(col.type, Boolean):
        if any(v not in ("true", "false") for v in cond.values):
            raise BadValue(path, "expects true or false")
        values = [v == "true" for v in cond.values]
    else:
        values = list(cond.values)
    if cond.op == "regex":
        return or_(*(col.regexp_match(v) for v in cond.values))
    if cond.op == "eq":
        return col.in_(values)
    return or_(*(_compare(col, cond.op, v) for v in values))


def _compare(col: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    result: ColumnElement[bool]
    if op == "gt":
        result = col > value
    elif op == "gte":
        result = col >= value
    elif op == "lt":
        result = col < value
    else:
        result = col <= value
    return result


def _attr_value_condition(attrs: Table, cond: Condition, value: str) -> ColumnElement[bool]:
    text, num, when = attrs.c.value_text, attrs.c.value_num, attrs.c.value_time
    if cond.op == "regex":
        return text.regexp_match(value)
    instant = parse_instant(value)
    number = parse_number(value)
    if cond.op == "eq":
        options = [text == value]
        if instant is not None:
            options.append(when == instant)
        if number is not None:
            options.append(num == number)
        return or_(*options)
    if instant is not None:
        return _compare(when, cond.op, instant)
    if number is not None:
        return _compare(num, cond.op, number)
    return _compare(text, cond.op, value)


def condition_sql(dt: DocTable, cond: Condition) -> ColumnElement[bool]:
    col = dt.column(cond.dotted)
    if col is not None:
        return _projection_condition(col, cond)
    attrs = dt.attrs
    matches = or_(*(_attr_value_condition(attrs, cond, v) for v in cond.values)) if cond.values else false()
    return exists(
        select(1).where(
            and_(attrs.c[dt.owner] == dt.table.c.id, attrs.c.path == cond.dotted, matches)
        )
    )


def where_clause(dt: DocTable, conditions: Sequence[Condition]) -> ColumnElement[bool]:
    return and_(true(), *(condition_sql(dt, c) for c in conditions))


def _sort_expr(dt: DocTable, key: SortKey) -> UnaryExpression[Any]:
    col = dt.column(key.dotted)
    if col is None:
        attrs = dt.attrs
        col = (
            select(func.min(attrs.c.value_text))
            .where(and_(attrs.c[dt.owner] == dt.table.c.id, attrs.c.path == key.dotted))
            .scalar_subquery()
        )
    ordered = col.desc() if key.descending else col.asc()
    return ordered.nulls_last()


def page_select(dt: DocTable, query: ListQuery, limit: int, columns: Sequence[Any]) -> Select[Any]:
    stmt = select(*columns).where(where_clause(dt, query.conditions))
    order = [_sort_expr(dt, k) for k in query.sort]
    order.append(dt.table.c.id.asc())
    return stmt.order_by(*order).offset(query.offset).limit(limit)


def count_select(dt: DocTable, query: ListQuery) -> Select[Any]:
    return select(func.count()).select_from(dt.table).where(where_clause(dt, query.conditions))
