"""Compile the neutral `ListQuery` into SQL over a document table: filters, sort, count and paging in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.visitors import InternalTraversal

from store.errors import BadValue
from store.query_form import Condition, ListQuery, SortKey
from store.values import PREFIX, parse_instant, parse_number


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


class CodePointOrder(ColumnElement[Any]):
    """Text ordered by code point on every backend: SQLite's BINARY already is; PostgreSQL needs COLLATE "C"
    (its default collation follows the cluster's locale, which would make a sort depend on the host)."""

    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: ColumnElement[Any]) -> None:
        self.element = element
        self.type = element.type


@compiles(CodePointOrder)
def _plain_order(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.element, **kw)


@compiles(CodePointOrder, "postgresql")
def _c_collation_order(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.element, **kw)}) COLLATE "C"'


def _projection_condition(col: ColumnElement[Any], cond: Condition) -> ColumnElement[bool]:
    path = cond.dotted
    if isinstance(col.type, DateTime):
        values: list[Any] = [_instant(v, path) for v in cond.values]
    elif not isinstance(col.type, String):  # booleans
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


def full_text(attrs: Table) -> ColumnElement[Any]:
    """The whole text of an index row: long values keep their prefix in `value_text` (store.values.PREFIX)."""
    return func.coalesce(attrs.c.value_long, attrs.c.value_text)


def _text_equals(attrs: Table, value: str) -> ColumnElement[bool]:
    """Equality on the whole text, found through the (path, value_text) index by the value's prefix."""
    if len(value) > PREFIX:
        return and_(attrs.c.value_text == value[:PREFIX], attrs.c.value_long == value)
    return and_(attrs.c.value_text == value, attrs.c.value_long.is_(None))


def _attr_value_condition(attrs: Table, cond: Condition, value: str) -> ColumnElement[bool]:
    text, num, when = full_text(attrs), attrs.c.value_num, attrs.c.value_time
    if cond.op == "regex":
        return text.regexp_match(value)
    instant = parse_instant(value)
    number = parse_number(value)
    if cond.op == "eq":
        options = [_text_equals(attrs, value)]
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
    # A regex reads the text form, which only text projections hold; dates and booleans use the index.
    if col is not None and (cond.op != "regex" or isinstance(col.type, String)):
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


def _text_order(col: ColumnElement[Any]) -> ColumnElement[Any]:
    return CodePointOrder(col) if isinstance(col.type, String) else col


def _sort_columns(dt: DocTable, key: SortKey) -> list[ColumnElement[Any]]:
    """Projections sort by their column. Other paths sort by their indexed values, instants first, then
    numbers, then text; a path with several values (an array) sorts by its least value ascending and its
    greatest descending. Missing values sort last either way."""
    col = dt.column(key.dotted)
    if col is not None:
        return [col]
    attrs = dt.attrs
    aggregate = func.max if key.descending else func.min
    owned = and_(attrs.c[dt.owner] == dt.table.c.id, attrs.c.path == key.dotted)
    return [
        select(aggregate(value)).where(owned).scalar_subquery()
        for value in (attrs.c.value_time, attrs.c.value_num, full_text(attrs))
    ]


def _sort_plan(dt: DocTable, query: ListQuery) -> list[tuple[ColumnElement[Any], bool]]:
    """Every (expression, descending) the list is ordered by; the id (ascending) comes last, so that the order
    is total and a row's position is its values of these expressions (`Page.keys`)."""
    plan = [(col, key.descending) for key in query.sort for col in _sort_columns(dt, key)]
    plan.append((dt.table.c.id, False))  # the primary key's own order: its index serves unsorted pages
    return plan


def _ordered(col: ColumnElement[Any], descending: bool, reverse: bool) -> UnaryExpression[Any]:
    """Nulls last in the list's order; `reverse` reads the list from its end (nulls first)."""
    col = _text_order(col)
    if reverse:
        return col.asc().nulls_first() if descending else col.desc().nulls_first()
    return (col.desc() if descending else col.asc()).nulls_last()


def _beyond(col: ColumnElement[Any], descending: bool, value: Any, before: bool) -> ColumnElement[bool]:
    """Rows whose `col` comes after `value` in the list's order (before it, with `before`); nulls sort last."""
    col = _text_order(col)
    if value is None:
        return col.is_not(None) if before else false()
    earlier: ColumnElement[bool] = col > value if descending else col < value
    if before:
        return earlier
    later: ColumnElement[bool] = col < value if descending else col > value
    return or_(later, col.is_(None))


def _same(col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return col.is_(None) if value is None else _text_order(col) == value


def keyset_clause(plan: list[tuple[ColumnElement[Any], bool]], values: tuple[object, ...], before: bool
                  ) -> ColumnElement[bool]:
    """Rows strictly after (or before) the position `values` names, in the lexicographic order of `plan`."""
    if len(values) != len(plan):
        raise BadValue("cursor", "the cursor was issued for another sort")
    options = []
    for i, ((col, descending), value) in enumerate(zip(plan, values, strict=True)):
        equal = [_same(c, v) for (c, _), v in zip(plan[:i], values[:i], strict=True)]
        options.append(and_(*equal, _beyond(col, descending, value, before)))
    return or_(*options)


def _in_tenant(dt: DocTable, stmt: Select[Any], tenant: str | None) -> Select[Any]:
    return stmt if tenant is None else stmt.where(dt.table.c.tenant == tenant)


def page_select(
    dt: DocTable, query: ListQuery, limit: int, columns: Sequence[Any], tenant: str | None = None
) -> Select[Any]:
    """One page of matches, sorted by the query's keys and then by id, so that paging is stable.

    Each row carries, after `columns`, its position: the values of the sort expressions and its id. With a
    keyset the page is cut from the stretch it names (offset is ignored); `from_end` reads backwards, so the
    rows arrive in reverse order (search_page turns them around).
    """
    plan = _sort_plan(dt, query)
    keys = [col.label(f"_key{i}") for i, (col, _) in enumerate(plan)]
    where = where_clause(dt, query.conditions)
    keyset = query.keyset
    if keyset is not None and keyset.after is not None:
        where = and_(where, keyset_clause(plan, keyset.after, False))
    if keyset is not None and keyset.before is not None:
        where = and_(where, keyset_clause(plan, keyset.before, True))
    reverse = keyset is not None and keyset.from_end
    stmt = _in_tenant(dt, select(*columns, *keys).where(where), tenant)
    stmt = stmt.order_by(*(_ordered(col, desc, reverse) for col, desc in plan))
    return stmt.offset(query.offset if keyset is None else 0).limit(limit)


def count_select(dt: DocTable, query: ListQuery, tenant: str | None = None) -> Select[Any]:
    return _in_tenant(dt, select(func.count()).select_from(dt.table).where(where_clause(dt, query.conditions)), tenant)


# PostgreSQL's class 22 "data exception" codes a client's filter can cause: invalid regular expression,
# invalid escape sequences in a pattern.
_CLIENT_DATA_ERRORS = ("2201B", "22025", "2200C")


async def search_page(
    conn: AsyncConnection, dt: DocTable, query: ListQuery, limit: int, columns: Sequence[Any],
    tenant: str | None = None,
) -> tuple[list[Any], int, list[tuple[object, ...]]]:
    """(rows of one page, count of every match, each row's position) in two statements, whatever the size of
    the table. A position is the row's values of the sort expressions and its id (for a `Keyset`).

    A pattern Python accepts but the database refuses (PostgreSQL regexes are POSIX AREs) is a BadValue.
    `tenant` confines the rows and the count to one tenant (None: every tenant).
    """
    try:
        total = int((await conn.execute(count_select(dt, query, tenant))).scalar_one())
        if limit == 0 or (query.keyset is None and total <= query.offset) or total == 0:
            return [], total, []
        rows = list((await conn.execute(page_select(dt, query, limit, columns, tenant))).all())
        if query.keyset is not None and query.keyset.from_end:
            rows.reverse()
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in _CLIENT_DATA_ERRORS:
            regexes = [c.dotted for c in query.conditions if c.op == "regex"]
            path = regexes[0] if len(regexes) == 1 else "filter"
            raise BadValue(path, f"the database refuses the pattern: {str(exc.orig).splitlines()[0]}") from exc
        raise
    width = len(columns)
    return rows, total, [tuple(row[width:]) for row in rows]
