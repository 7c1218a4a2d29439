"""Retention: deleting rows nobody needs any more, a small batch per transaction so writers never wait long.

What each kind keeps (cutoffs are instants; rows newer than theirs stay):
- outbox: rows older than the replay window *and* passed by every hub listener (active or failing: a failing
  listener is retried and must still receive what it missed);
- hub delivery records older than their cutoff;
- service revisions older than their cutoff, except each service's newest;
- finished activations (completed, failed, cancelled) last changed before their cutoff, with their steps;
- finished Monitors (Completed, InError) last changed before their cutoff that no unfinished activation names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.activation_types import UNFINISHED
from store.tables import (
    activation,
    activation_step,
    event_outbox,
    hub_delivery,
    hub_listener,
    monitor,
    service_revision,
)

FINAL_MONITOR_STATES = ("Completed", "InError")


class RetentionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _delete(self, table: Any, key: Any, chosen: Select[Any]) -> int:
        ids = (await self.conn.execute(chosen)).scalars().all()
        if not ids:
            return 0
        await self.conn.execute(delete(table).where(key.in_(ids)))
        return len(ids)

    async def outbox_floor(self) -> int | None:
        """The lowest cursor of any listener (None: no listener holds the outbox back)."""
        value = (await self.conn.execute(select(func.min(hub_listener.c.cursor)))).scalar_one_or_none()
        return None if value is None else int(value)

    async def outbox(self, before: datetime, below_seq: int | None, limit: int) -> int:
        """Delete up to `limit` outbox rows older than `before` with seq ≤ `below_seq` (when given)."""
        c = event_outbox.c
        where = [c.at < before]
        if below_seq is not None:
            where.append(c.seq <= below_seq)
        return await self._delete(event_outbox, c.seq, select(c.seq).where(*where).order_by(c.seq).limit(limit))

    async def deliveries(self, before: datetime, limit: int) -> int:
        c = hub_delivery.c
        return await self._delete(hub_delivery, c.id, select(c.id).where(c.at < before).order_by(c.id).limit(limit))

    async def revisions(self, before: datetime, limit: int) -> int:
        r = service_revision.alias("r")
        newer = service_revision.alias("n")
        has_newer = select(newer.c.seq).where(newer.c.service_id == r.c.service_id, newer.c.seq > r.c.seq).exists()
        chosen = select(r.c.seq).where(r.c.at < before, has_newer).order_by(r.c.seq).limit(limit)
        return await self._delete(service_revision, service_revision.c.seq, chosen)

    async def activations(self, before: datetime, limit: int) -> int:
        c = activation.c
        ids = (await self.conn.execute(
            select(c.id).where(c.status.not_in(UNFINISHED), c.updated_at < before).order_by(c.seq).limit(limit)
        )).scalars().all()
        if not ids:
            return 0
        await self.conn.execute(delete(activation_step).where(activation_step.c.activation_id.in_(ids)))
        await self.conn.execute(delete(activation).where(c.id.in_(ids)))
        return len(ids)

    async def monitors(self, before: datetime, limit: int) -> int:
        c = monitor.c
        named: set[str] = set()
        for monitors in (await self.conn.execute(
                select(activation.c.monitors).where(activation.c.status.in_(UNFINISHED)))).scalars():
            named.update(str(m.get("id")) for m in monitors or [] if isinstance(m, dict))
        where = [c.state.in_(FINAL_MONITOR_STATES), c.updated_at < before]
        if named:
            where.append(c.id.not_in(sorted(named)))
        return await self._delete(monitor, c.id, select(c.id).where(and_(*where)).order_by(c.updated_at).limit(limit))
