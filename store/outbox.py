"""The event outbox: events are rows written in the transaction of the change they describe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store.tables import DEFAULT_TENANT, event_outbox
from store.values import as_utc

# Held until commit by every transaction that writes events, so that on PostgreSQL the order of `seq`
# is the order of commits and a reader that has seen seq N never later finds a smaller committed seq.
OUTBOX_LOCK = 640641
# The version of the resource an event carries, stored beside the envelope in the payload column and taken out
# again when the row is read (OutboxEvent.version): the envelope hubs and subscribers receive is unchanged.
VERSION_KEY = "_version"


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    event_id: str
    event_type: str
    correlation_id: str | None
    resource_type: str
    resource_id: str
    at: datetime
    payload: dict[str, Any]
    tenant: str = DEFAULT_TENANT  # the tenant of the resource the event is about
    version: int | None = None  # the resource's version as the event carries it (None: not recorded)


class OutboxRepository:
    """Events on one connection. Confined to `tenant` (None: every tenant) when read by event id or replayed;
    `last_seq` is the end of the whole outbox (a position, not an event)."""

    def __init__(self, conn: AsyncConnection, tenant: str | None = None) -> None:
        self.conn = conn
        self.tenant = tenant
        self._locked = False
        self.written = False  # whether this unit of work added events (the store wakes the relay on commit)
        self._pending: list[dict[str, Any]] = []  # added, written by `flush` before the commit

    async def add(
        self,
        *,
        event_id: str,
        event_type: str,
        correlation_id: str | None,
        resource_type: str,
        resource_id: str,
        at: datetime,
        payload: dict[str, Any],
        tenant: str | None = None,
        version: int | None = None,
    ) -> None:
        """Add one event of `tenant` (in a unit of work confined to a tenant: of that one); `version`: the
        resource's version as the event carries it.

        Events are kept until `flush` (the unit of work calls it right before its commit), which writes every
        event of the transaction in one statement, in the order they were added."""
        self.written = True
        self._pending.append({
            "event_id": event_id, "event_type": event_type, "correlation_id": correlation_id,
            "resource_type": resource_type, "resource_id": resource_id, "at": at,
            "payload": payload if version is None else {**payload, VERSION_KEY: version},
            "tenant": self.tenant or tenant or DEFAULT_TENANT,
        })

    async def flush(self) -> None:
        """Write the events added so far (one statement); on PostgreSQL take the outbox lock first, held until
        the commit, so that the order of `seq` is the order of commits."""
        if not self._pending:
            return
        if self.conn.dialect.name == "postgresql" and not self._locked:
            await self.conn.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK)))
            self._locked = True
        rows, self._pending = self._pending, []
        await self.conn.execute(insert(event_outbox), rows)

    def _mine(self) -> ColumnElement[bool]:
        return true() if self.tenant is None else event_outbox.c.tenant == self.tenant

    async def after(self, seq: int, limit: int = 500, upto: int | None = None) -> list[OutboxEvent]:
        """Committed events with a sequence above `seq` (and at most `upto`), oldest first."""
        stmt = select(event_outbox).where(event_outbox.c.seq > seq, self._mine())
        if upto is not None:
            stmt = stmt.where(event_outbox.c.seq <= upto)
        rows = (await self.conn.execute(stmt.order_by(event_outbox.c.seq).limit(limit))).all()
        return [_event(r) for r in rows]

    async def seq_of(self, event_id: str) -> int | None:
        value = (
            await self.conn.execute(select(event_outbox.c.seq).where(event_outbox.c.event_id == event_id, self._mine()))
        ).scalar_one_or_none()
        return None if value is None else int(value)

    async def last_seq(self) -> int:
        return int((await self.conn.execute(select(func.coalesce(func.max(event_outbox.c.seq), 0)))).scalar_one())


def _event(r: Any) -> OutboxEvent:
    payload = r.payload
    version = None
    if isinstance(payload, dict) and VERSION_KEY in payload:
        payload = dict(payload)
        version = payload.pop(VERSION_KEY)
    return OutboxEvent(r.seq, r.event_id, r.event_type, r.correlation_id, r.resource_type, r.resource_id,
                       as_utc(r.at) or r.at, payload, r.tenant, version if isinstance(version, int) else None)
