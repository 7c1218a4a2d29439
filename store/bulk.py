"""Bulk writes: many services, their index rows, links, revisions and events in a few statements per batch.

Used by `tmf640 import` (resolvers.bulk): each table gets one multi-row INSERT per batch instead of one
statement per row. Kept apart from store.services so that per-row repositories and these batch writes evolve
without stepping on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.outbox import OUTBOX_LOCK
from store.services import Link, _projection
from store.tables import event_outbox, service, service_attr, service_link, service_revision
from store.values import attr_rows


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


async def insert_services(
    conn: AsyncConnection, services: Sequence[BulkService], *, tenant: str, actor: str,
    correlation_id: str | None, now: datetime,
) -> None:
    """Insert `services` (none of which exists) of `tenant` with their index rows, links and revisions."""
    if not services:
        return
    await conn.execute(insert(service), [
        {"id": s.id, "doc": s.doc, "version": 1, "created_at": now, "updated_at": now, "tenant": tenant,
         **_projection(s.doc)}
        for s in services
    ])
    attrs = [{"service_id": s.id, **row} for s in services for row in attr_rows(s.doc)]
    if attrs:
        await conn.execute(insert(service_attr), attrs)
    links = [
        {"src_id": link.src_id, "dst_id": link.dst_id, "kind": link.kind, "relationship_type": link.relationship_type,
         "position": link.position, "by_value": link.by_value}
        for s in services for link in s.links
    ]
    if links:
        await conn.execute(insert(service_link), links)
    await conn.execute(insert(service_revision), [
        {"service_id": s.id, "version": 1, "operation": "create", "actor": actor, "correlation_id": correlation_id,
         "at": now, "changes": s.changes, "state": s.state, "tenant": tenant}
        for s in services
    ])


async def add_events(conn: AsyncConnection, events: Sequence[BulkEvent], *, tenant: str) -> None:
    """Append `events` of `tenant` to the outbox in one statement (after the outbox lock on PostgreSQL, as
    every writer)."""
    if not events:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK)))
    await conn.execute(insert(event_outbox), [
        {"event_id": e.event_id, "event_type": e.event_type, "correlation_id": e.correlation_id,
         "resource_type": e.resource_type, "resource_id": e.resource_id, "at": e.at, "payload": e.payload,
         "tenant": tenant}
        for e in events
    ])
