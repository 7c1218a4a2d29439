"""Service repository: documents, projections, attribute index, links and revisions. All SQL for services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store.errors import StaleVersion
from store.query_form import ListQuery
from store.query_sql import DocTable, search_page
from store.tables import DEFAULT_TENANT, service, service_attr, service_link, service_revision
from store.values import attr_rows, parse_instant

SERVICES = DocTable(
    table=service,
    attrs=service_attr,
    owner="service_id",
    projections={
        "id": "id",
        "state": "state",
        "name": "name",
        "category": "category",
        "serviceType": "service_type",
        "@type": "type",
        "isBundle": "is_bundle",
        "serviceSpecification.id": "spec_id",
        "serviceSpecification.name": "spec_name",
        "startDate": "start_date",
        "endDate": "end_date",
        # serviceDate has a column but no projection: it is free text in the schema (the official sample
        # writes "020-04-01..."), so the attribute index, which compares instants and text, serves it.
    },
)


@dataclass(frozen=True)
class ServiceRow:
    id: str
    doc: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Link:
    """One edge: `src` uses `dst` as a supporting service, or relates to it through `relationship_type`."""

    src_id: str
    dst_id: str
    kind: str  # "supporting" | "relationship"
    relationship_type: str | None
    position: int
    by_value: bool


@dataclass(frozen=True)
class Revision:
    seq: int
    service_id: str
    version: int
    operation: str
    actor: str
    correlation_id: str | None
    at: datetime
    changes: list[dict[str, Any]]
    state: str | None


def _text(value: Any, size: int = 512) -> str | None:
    return None if value is None else str(value)[:size]


def _instant(value: Any) -> datetime | None:
    return parse_instant(value) if isinstance(value, str) else None


def _projection(doc: dict[str, Any]) -> dict[str, Any]:
    raw_spec = doc.get("serviceSpecification")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    is_bundle = doc.get("isBundle")
    return {
        "state": _text(doc.get("state"), 64),
        "name": _text(doc.get("name")),
        "category": _text(doc.get("category"), 255),
        "service_type": _text(doc.get("serviceType"), 255),
        "type": _text(doc.get("@type"), 255),
        "is_bundle": is_bundle if isinstance(is_bundle, bool) else None,
        "spec_id": _text(spec.get("id"), 255),
        "spec_name": _text(spec.get("name"), 255),
        "start_date": _instant(doc.get("startDate")),
        "end_date": _instant(doc.get("endDate")),
        "service_date": _instant(doc.get("serviceDate")),
    }


def _row(r: Any) -> ServiceRow:
    return ServiceRow(id=r.id, doc=r.doc, version=r.version, created_at=r.created_at, updated_at=r.updated_at)


_COLUMNS = (service.c.id, service.c.doc, service.c.version, service.c.created_at, service.c.updated_at)


class ServiceRepository:
    """Queries and writes for services on one connection; the caller owns the transaction.

    Confined to `tenant` (None: every tenant): another tenant's service is not found, and links and revisions
    are read only from services of the tenant.
    """

    def __init__(self, conn: AsyncConnection, tenant: str | None = None) -> None:
        self.conn = conn
        self.tenant = tenant

    def _mine(self, column: Any = None) -> ColumnElement[bool]:
        """True for rows of this tenant: of `service` itself, or whose `column` names a service of it."""
        if self.tenant is None:
            return true()
        if column is None:
            return service.c.tenant == self.tenant
        in_tenant: ColumnElement[bool] = column.in_(select(service.c.id).where(service.c.tenant == self.tenant))
        return in_tenant

    async def get(self, id: str, *, for_update: bool = False) -> ServiceRow | None:
        stmt = select(*_COLUMNS).where(service.c.id == id, self._mine())
        if for_update and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        r = (await self.conn.execute(stmt)).first()
        return _row(r) if r else None

    async def get_many(self, ids: Iterable[str], *, for_update: bool = False) -> dict[str, ServiceRow]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        stmt = select(*_COLUMNS).where(service.c.id.in_(wanted), self._mine())
        if for_update and self.conn.dialect.name == "postgresql":
            stmt = stmt.order_by(service.c.id).with_for_update()  # one lock order for every locker
        rows = (await self.conn.execute(stmt)).all()
        return {r.id: _row(r) for r in rows}

    async def states(self, ids: Iterable[str]) -> dict[str, str | None]:
        """The as-is state of each service that exists (from the projection column, without the documents)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        stmt = select(service.c.id, service.c.state).where(service.c.id.in_(wanted), self._mine())
        rows = (await self.conn.execute(stmt)).all()
        return {r.id: r.state for r in rows}

    async def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are taken, in any tenant: ids are unique across tenants."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        return set((await self.conn.execute(select(service.c.id).where(service.c.id.in_(wanted)))).scalars())

    async def held_elsewhere(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are services of another tenant (none when this repository sees every tenant)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted or self.tenant is None:
            return set()
        stmt = select(service.c.id).where(service.c.id.in_(wanted), service.c.tenant != self.tenant)
        return set((await self.conn.execute(stmt)).scalars())

    async def search(
        self, query: ListQuery, limit: int
    ) -> tuple[list[ServiceRow], int, list[tuple[object, ...]]]:
        """One page of matching services, the count of every match and each row's position: two statements."""
        rows, total, keys = await search_page(self.conn, SERVICES, query, limit, _COLUMNS, self.tenant)
        return [_row(r) for r in rows], total, keys

    async def insert(self, id: str, doc: dict[str, Any], links: Sequence[Link], now: datetime) -> None:
        await self.conn.execute(
            insert(service).values(id=id, doc=doc, version=1, created_at=now, updated_at=now,
                                   tenant=self.tenant or DEFAULT_TENANT, **_projection(doc))
        )
        await self._write_index(id, doc, links)

    async def update(
        self, id: str, doc: dict[str, Any], links: Sequence[Link], expected_version: int, now: datetime
    ) -> int:
        """Store `doc` as the next version; raise StaleVersion when someone else wrote first."""
        result = await self.conn.execute(
            update(service)
            .where(service.c.id == id, service.c.version == expected_version, self._mine())
            .values(doc=doc, version=expected_version + 1, updated_at=now, **_projection(doc))
        )
        if result.rowcount != 1:
            raise StaleVersion(id)
        await self.conn.execute(delete(service_attr).where(service_attr.c.service_id == id))
        await self.conn.execute(delete(service_link).where(service_link.c.src_id == id))
        await self._write_index(id, doc, links)
        return expected_version + 1

    async def delete(self, id: str) -> None:
        if await self.get(id) is None:
            return
        await self.conn.execute(delete(service_attr).where(service_attr.c.service_id == id))
        await self.conn.execute(delete(service_link).where(service_link.c.src_id == id))
        await self.conn.execute(delete(service).where(service.c.id == id))

    async def _write_index(self, id: str, doc: dict[str, Any], links: Sequence[Link]) -> None:
        rows = [{"service_id": id, **row} for row in attr_rows(doc)]
        if rows:
            await self.conn.execute(insert(service_attr), rows)
        if links:
            await self.conn.execute(
                insert(service_link),
                [
                    {
                        "src_id": link.src_id,
                        "dst_id": link.dst_id,
                        "kind": link.kind,
                        "relationship_type": link.relationship_type,
                        "position": link.position,
                        "by_value": link.by_value,
                    }
                    for link in links
                ],
            )

    async def by_value_members(self, src_ids: Iterable[str]) -> list[tuple[str, ServiceRow]]:
        """(owner id, member row) for every member the owners hold by value, in one statement."""
        wanted = list(dict.fromkeys(src_ids))
        if not wanted:
            return []
        stmt = (
            select(service_link.c.src_id, *_COLUMNS)
            .select_from(service_link.join(service, service.c.id == service_link.c.dst_id))
            .where(service_link.c.src_id.in_(wanted), service_link.c.by_value.is_(True), self._mine())
        )
        return [(r.src_id, _row(r)) for r in (await self.conn.execute(stmt)).all()]

    async def links_from(self, src_ids: Iterable[str], kind: str | None = None) -> list[Link]:
        return await self._links(service_link.c.src_id, src_ids, kind)

    async def links_to(self, dst_ids: Iterable[str], kind: str | None = None) -> list[Link]:
        return await self._links(service_link.c.dst_id, dst_ids, kind)

    async def _links(self, col: Any, ids: Iterable[str], kind: str | None) -> list[Link]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        stmt = select(service_link).where(col.in_(wanted), self._mine(service_link.c.src_id))
        if kind:
            stmt = stmt.where(service_link.c.kind == kind)
        rows = (await self.conn.execute(stmt.order_by(service_link.c.src_id, service_link.c.position))).all()
        return [
            Link(r.src_id, r.dst_id, r.kind, r.relationship_type, r.position, bool(r.by_value)) for r in rows
        ]

    async def add_revision(
        self,
        *,
        service_id: str,
        version: int,
        operation: str,
        actor: str,
        correlation_id: str | None,
        at: datetime,
        changes: list[dict[str, Any]],
        state: str | None,
        tenant: str | None = None,
    ) -> None:
        """One revision, of `tenant` (in a unit of work confined to a tenant: of that one)."""
        await self.conn.execute(
            insert(service_revision).values(
                tenant=self.tenant or tenant or DEFAULT_TENANT,
                service_id=service_id,
                version=version,
                operation=operation,
                actor=actor,
                correlation_id=correlation_id,
                at=at,
                changes=changes,
                state=state,
            )
        )

    async def revisions(self, service_ids: Iterable[str]) -> list[Revision]:
        wanted = list(dict.fromkeys(service_ids))
        if not wanted:
            return []
        rows = (
            await self.conn.execute(
                select(service_revision)
                .where(service_revision.c.service_id.in_(wanted),
                       true() if self.tenant is None else service_revision.c.tenant == self.tenant)
                .order_by(service_revision.c.seq)
            )
        ).all()
        return [
            Revision(
                r.seq, r.service_id, r.version, r.operation, r.actor, r.correlation_id, r.at, r.changes, r.state
            )
            for r in rows
        ]
