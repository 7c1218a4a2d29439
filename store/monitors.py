"""Monitor repository: TMF Monitor documents with projections and an attribute index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store.errors import StaleVersion
from store.query_form import ListQuery
from store.query_sql import DocTable, search_page
from store.tables import DEFAULT_TENANT, monitor, monitor_attr
from store.values import attr_rows

# Copies of whole request and response bodies (strings up to the body limit): not something to filter on, and
# larger than a PostgreSQL btree entry can hold (a big bundle's POST would otherwise fail to record its Monitor).
UNINDEXED = frozenset({"request.body", "response.body"})

MONITORS = DocTable(
    table=monitor,
    attrs=monitor_attr,
    owner="monitor_id",
    projections={"id": "id", "state": "state"},
)


@dataclass(frozen=True)
class MonitorRow:
    id: str
    doc: dict[str, Any]
    version: int
    source_id: str | None
    correlation_id: str | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    monitor.c.id,
    monitor.c.doc,
    monitor.c.version,
    monitor.c.source_id,
    monitor.c.correlation_id,
    monitor.c.created_at,
    monitor.c.updated_at,
)


def _row(r: Any) -> MonitorRow:
    return MonitorRow(r.id, r.doc, r.version, r.source_id, r.correlation_id, r.created_at, r.updated_at)


class MonitorRepository:
    """Monitors on one connection, confined to `tenant` (None: every tenant)."""

    def __init__(self, conn: AsyncConnection, tenant: str | None = None) -> None:
        self.conn = conn
        self.tenant = tenant

    def _mine(self) -> ColumnElement[bool]:
        return true() if self.tenant is None else monitor.c.tenant == self.tenant

    async def get(self, id: str) -> MonitorRow | None:
        r = (await self.conn.execute(select(*_COLUMNS).where(monitor.c.id == id, self._mine()))).first()
        return _row(r) if r else None

    async def get_many(self, ids: Iterable[str]) -> list[MonitorRow]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        stmt = select(*_COLUMNS).where(monitor.c.id.in_(wanted), self._mine())
        return [_row(r) for r in (await self.conn.execute(stmt)).all()]

    async def for_sources(self, source_ids: list[str]) -> list[MonitorRow]:
        if not source_ids:
            return []
        stmt = select(*_COLUMNS).where(monitor.c.source_id.in_(source_ids), self._mine()).order_by(monitor.c.created_at)
        return [_row(r) for r in (await self.conn.execute(stmt)).all()]

    async def search(
        self, query: ListQuery, limit: int
    ) -> tuple[list[MonitorRow], int, list[tuple[object, ...]]]:
        rows, total, keys = await search_page(self.conn, MONITORS, query, limit, _COLUMNS, self.tenant)
        return [_row(r) for r in rows], total, keys

    async def insert(
        self, id: str, doc: dict[str, Any], *, source_id: str | None, correlation_id: str | None, now: datetime
    ) -> None:
        await self.conn.execute(
            insert(monitor).values(
                id=id,
                doc=doc,
                version=1,
                state=doc.get("state"),
                source_id=source_id,
                correlation_id=correlation_id,
                tenant=self.tenant or DEFAULT_TENANT,
                created_at=now,
                updated_at=now,
            )
        )
        await self._index(id, doc)

    async def update(self, id: str, doc: dict[str, Any], expected_version: int, now: datetime) -> int:
        result = await self.conn.execute(
            update(monitor)
            .where(monitor.c.id == id, monitor.c.version == expected_version, self._mine())
            .values(doc=doc, state=doc.get("state"), version=expected_version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            raise StaleVersion(id)
        await self.conn.execute(delete(monitor_attr).where(monitor_attr.c.monitor_id == id))
        await self._index(id, doc)
        return expected_version + 1

    async def _index(self, id: str, doc: dict[str, Any]) -> None:
        rows = [{"monitor_id": id, **row} for row in attr_rows(doc) if row["path"] not in UNINDEXED]
        if rows:
            await self.conn.execute(insert(monitor_attr), rows)
