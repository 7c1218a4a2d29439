"""Bulk writes: many services, their index rows, links, revisions and events in one statement per table.

Used by `tmf640 import` (resolvers.bulk). The rows are encoded off the event loop (`Encoder`, in the import's
worker thread): tuples in a fixed column order, each value through its column type's bind processor for the
dialect (the very conversion SQLAlchemy applies: JSON text, SQLite's date-time text), so that `write` hands them
to the driver's `executemany` as they are, with no per-row work in SQLAlchemy. One INSERT statement per table,
compiled once per dialect. Kept apart from store.services so that per-row repositories and these batch writes
evolve without stepping on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from store.outbox import OUTBOX_LOCK
from store.services import Link, _projection
from store.tables import event_outbox, service, service_attr, service_link, service_revision
from store.values import attr_rows

Row = tuple[Any, ...]


@dataclass(frozen=True)
class BulkService:
    """One service to insert as it stands (version 1), with its links and its creation revision."""

    id: str
    doc: dict[str, Any]
    links: Sequence[Link]
    changes: list[dict[str, Any]]  # the revision's RFC 6902 patch from nothing to `doc`
    state: str | None


@dataclass(frozen=True)
class BulkEvent:
    event_id: str
    event_type: str
    correlation_id: str | None
    resource_type: str
    resource_id: str
    at: datetime
    payload: dict[str, Any]


@dataclass
class Rows:
    """Encoded rows of some services and events, per table, ready for `write`."""

    service: list[Row] = field(default_factory=list)
    attr: list[Row] = field(default_factory=list)
    link: list[Row] = field(default_factory=list)
    revision: list[Row] = field(default_factory=list)
    event: list[Row] = field(default_factory=list)

    def extend(self, other: Rows) -> None:
        self.service += other.service
        self.attr += other.attr
        self.link += other.link
        self.revision += other.revision
        self.event += other.event


_SERVICE = ("id", "doc", "version", "created_at", "updated_at", "tenant", "state", "name", "category",
            "service_type", "type", "is_bundle", "spec_id", "spec_name", "start_date", "end_date", "service_date")
_ATTR = ("service_id", "path", "value_text", "value_long", "value_num", "value_time")
_LINK = ("src_id", "dst_id", "kind", "relationship_type", "position", "by_value")
_REVISION = ("service_id", "version", "operation", "actor", "correlation_id", "at", "changes", "state", "tenant")
_EVENT = ("event_id", "event_type", "correlation_id", "resource_type", "resource_id", "at", "payload", "tenant")
_TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "service": (service, _SERVICE), "attr": (service_attr, _ATTR), "link": (service_link, _LINK),
    "revision": (service_revision, _REVISION), "event": (event_outbox, _EVENT),
}


@dataclass(frozen=True)
class _Statement:
    sql: str
    encode: Callable[[Sequence[Any]], Row]


def _statement(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Statement:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        raise RuntimeError(f"bulk insert into {table.name}: the statement binds {order}, not {columns}")
    position = [columns.index(name) for name in order]
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order]
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    in_order = position == list(range(len(columns)))

    def encode(values: Sequence[Any]) -> Row:
        out = list(values) if in_order else [values[i] for i in position]
        for i, process in converted:
            if out[i] is not None:
                out[i] = process(out[i])
        return tuple(out)

    return _Statement(compiled.string, encode)


_STATEMENTS: dict[tuple[str, str], dict[str, _Statement]] = {}


def _statements(dialect: Dialect) -> dict[str, _Statement]:
    made = _STATEMENTS.get((dialect.name, dialect.driver))  # the driver decides the parameter style
    if made is None:
        made = _STATEMENTS[(dialect.name, dialect.driver)] = {
            key: _statement(table, columns, dialect) for key, (table, columns) in _TABLES.items()}
    return made


class Encoder:
    """Encodes services and events of one tenant, writer and time for `dialect` (CPU only: any thread)."""

    def __init__(self, dialect: Dialect, *, tenant: str, actor: str, correlation_id: str | None,
                 now: datetime) -> None:
        self._s = _statements(dialect)
        self.tenant, self.actor, self.correlation_id, self.now = tenant, actor, correlation_id, now

    def services(self, services: Sequence[BulkService]) -> Rows:
        s, out, now, tenant = self._s, Rows(), self.now, self.tenant
        for svc in services:
            p = _projection(svc.doc)
            out.service.append(s["service"].encode((
                svc.id, svc.doc, 1, now, now, tenant, p["state"], p["name"], p["category"], p["service_type"],
                p["type"], p["is_bundle"], p["spec_id"], p["spec_name"], p["start_date"], p["end_date"],
                p["service_date"])))
            attr = s["attr"].encode
            out.attr.extend(attr((svc.id, r["path"], r["value_text"], r["value_long"], r["value_num"],
                                  r["value_time"])) for r in attr_rows(svc.doc))
            out.link.extend(s["link"].encode((link.src_id, link.dst_id, link.kind, link.relationship_type,
                                              link.position, link.by_value)) for link in svc.links)
            out.revision.append(s["revision"].encode((svc.id, 1, "create", self.actor, self.correlation_id, now,
                                                      svc.changes, svc.state, tenant)))
        return out

    def events(self, events: Sequence[BulkEvent]) -> Rows:
        encode = self._s["event"].encode
        return Rows(event=[encode((e.event_id, e.event_type, e.correlation_id, e.resource_type, e.resource_id,
                                   e.at, e.payload, self.tenant)) for e in events])


async def write(conn: AsyncConnection, rows: Rows) -> None:
    """Insert encoded `rows` (services none of which exists, and events): one executemany per table, events last
    (after the outbox lock on PostgreSQL, as every writer)."""
    s = _statements(conn.dialect)
    for key in ("service", "attr", "link", "revision"):
        batch: list[Row] = getattr(rows, key)
        if batch:
            await conn.exec_driver_sql(s[key].sql, batch)
    if rows.event:
        if conn.dialect.name == "postgresql":
            await conn.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK)))
        await conn.exec_driver_sql(s["event"].sql, rows.event)
