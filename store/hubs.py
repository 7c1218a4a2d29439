"""Hub listeners and their delivery attempts.

Every change to a listener's delivery state is a conditional UPDATE on `lease_owner`: a process that lost its
lease (it stalled past `lease_until` and another process claimed the listener) changes nothing, so the
cursor only ever moves forward under the lease holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store.tables import DEFAULT_TENANT, hub_delivery, hub_listener
from store.values import as_utc

ACTIVE = "active"
FAILING = "failing"


@dataclass(frozen=True)
class HubRow:
    id: str
    callback: str
    query: str | None
    secret: str | None
    owner: str
    state: str
    cursor: int
    attempts: int
    first_failure_at: datetime | None
    next_attempt_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    tenant: str = DEFAULT_TENANT  # whose events it receives ("*": every tenant's)


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    listener_id: str
    seq: int
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float
    delivered: bool


@dataclass(frozen=True)
class Failure:
    """A failed attempt closing a batch: the streak on the head event and what follows it."""

    attempts: int
    first_failure_at: datetime
    next_attempt_at: datetime
    error: str
    give_up: bool  # failing from now on (or still, after a slow retry that failed)
    recovered: bool = False  # an earlier event of the batch was accepted: active again, failing on the next
    failed_at: datetime | None = None  # kept while a failing listener stays failing


@dataclass(frozen=True)
class Due:
    """Listeners with undelivered events that may be claimed now, and when the next backed-off one is due."""

    ids: list[str]
    next_retry_at: datetime | None


def _values(r: Any, columns: Any) -> dict[str, Any]:
    out = {c.name: getattr(r, c.name) for c in columns}
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in out.items()}


def _hub(r: Any) -> HubRow:
    return HubRow(**_values(r, hub_listener.columns))


def _delivery(r: Any) -> DeliveryRow:
    return DeliveryRow(**_values(r, hub_delivery.columns))


class HubRepository:
    """Listeners on one connection; registration, reads and removal confined to `tenant` (None: every one)."""

    def __init__(self, conn: AsyncConnection, tenant: str | None = None) -> None:
        self.conn = conn
        self.tenant = tenant

    def _mine(self) -> ColumnElement[bool]:
        return true() if self.tenant is None else hub_listener.c.tenant == self.tenant

    # ---- registration ------------------------------------------------------------------------------------

    async def insert(
        self, *, id: str, callback: str, query: str | None, secret: str | None, owner: str, cursor: int,
        now: datetime, tenant: str | None = None,
    ) -> None:
        await self.conn.execute(
            insert(hub_listener).values(
                id=id, callback=callback, query=query, secret=secret, owner=owner, state=ACTIVE, cursor=cursor,
                attempts=0, created_at=now, updated_at=now, tenant=self.tenant or tenant or DEFAULT_TENANT,
            )
        )

    async def get(self, id: str) -> HubRow | None:
        row = (await self.conn.execute(select(hub_listener).where(hub_listener.c.id == id, self._mine()))).first()
        return None if row is None else _hub(row)

    async def page(self, offset: int, limit: int) -> tuple[list[HubRow], int]:
        rows = (
            await self.conn.execute(
                select(hub_listener).where(self._mine())
                .order_by(hub_listener.c.created_at, hub_listener.c.id).offset(offset).limit(limit)
            )
        ).all()
        return [_hub(r) for r in rows], await self.count()

    async def count(self) -> int:
        """How many listeners this tenant has registered."""
        return int((await self.conn.execute(
            select(func.count()).select_from(hub_listener).where(self._mine()))).scalar_one())

    async def delete(self, id: str) -> bool:
        if await self.get(id) is None:
            return False
        await self.conn.execute(delete(hub_delivery).where(hub_delivery.c.listener_id == id))
        result = await self.conn.execute(delete(hub_listener).where(hub_listener.c.id == id))
        return bool(result.rowcount)

    async def resume(self, id: str, now: datetime) -> bool:
        """Back to `active`, retrying from the stored cursor at once. False when the listener does not exist."""
        result = await self.conn.execute(
            update(hub_listener)
            .where(hub_listener.c.id == id, self._mine())
            .values(state=ACTIVE, attempts=0, first_failure_at=None, next_attempt_at=None, failed_at=None,
                    updated_at=now)
        )
        return bool(result.rowcount)

    # ---- leases ------------------------------------------------------------------------------------------

    async def due(self, now: datetime, last_seq: int) -> Due:
        """Listeners behind `last_seq` whose lease is free or expired and whose next attempt is due: active ones,
        and failing ones whose slow retry (`next_attempt_at`) has come."""
        c = hub_listener.c
        behind = and_(c.state.in_((ACTIVE, FAILING)), c.cursor < last_seq)
        free = or_(c.lease_owner.is_(None), c.lease_until < now)
        ready = or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)
        ids = (await self.conn.execute(select(c.id).where(behind, free, ready).order_by(c.id))).scalars().all()
        soonest = (
            await self.conn.execute(select(func.min(c.next_attempt_at)).where(behind, c.next_attempt_at > now))
        ).scalar_one_or_none()
        return Due(list(ids), as_utc(soonest))

    async def claim(self, id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the lease when it is free, expired or already ours (a conditional update: one winner)."""
        c = hub_listener.c
        result = await self.conn.execute(
            update(hub_listener)
            .where(c.id == id, c.state.in_((ACTIVE, FAILING)),
                   or_(c.lease_owner.is_(None), c.lease_until < now, c.lease_owner == owner))
            .values(lease_owner=owner, lease_until=until)
        )
        return bool(result.rowcount)

    async def renew(self, id: str, owner: str, until: datetime) -> bool:
        result = await self.conn.execute(
            update(hub_listener)
            .where(hub_listener.c.id == id, hub_listener.c.lease_owner == owner)
            .values(lease_until=until)
        )
        return bool(result.rowcount)

    async def release(self, id: str, owner: str) -> None:
        await self.conn.execute(
            update(hub_listener)
            .where(hub_listener.c.id == id, hub_listener.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    # ---- delivery state ----------------------------------------------------------------------------------

    async def skip_to(self, id: str, owner: str, seq: int, now: datetime) -> bool:
        """Move the cursor past events that do not match the listener's query."""
        c = hub_listener.c
        result = await self.conn.execute(
            update(hub_listener)
            .where(c.id == id, c.lease_owner == owner, c.cursor < seq)
            .values(cursor=seq, updated_at=now)
        )
        return bool(result.rowcount)

    async def delivered(self, id: str, owner: str, seq: int, now: datetime) -> bool:
        """The event at `seq` was accepted (2xx): advance the cursor, forget the failure streak."""
        c = hub_listener.c
        result = await self.conn.execute(
            update(hub_listener)
            .where(c.id == id, c.lease_owner == owner, c.cursor < seq)
            .values(cursor=seq, attempts=0, first_failure_at=None, next_attempt_at=None, last_error=None,
                    updated_at=now)
        )
        return bool(result.rowcount)

    async def failed(
        self, id: str, owner: str, *, attempts: int, first_failure_at: datetime, next_attempt_at: datetime | None,
        error: str, give_up: bool, now: datetime,
    ) -> bool:
        """A failed attempt on the head event: schedule the retry, or mark the listener failing."""
        values: dict[str, Any] = {
            "attempts": attempts, "first_failure_at": first_failure_at, "last_error": error, "updated_at": now,
            "next_attempt_at": None if give_up else next_attempt_at,
        }
        if give_up:
            values.update(state=FAILING, failed_at=now, lease_owner=None, lease_until=None)
            if next_attempt_at is not None:  # the slow retry of a failing listener
                values["next_attempt_at"] = next_attempt_at
        result = await self.conn.execute(
            update(hub_listener).where(hub_listener.c.id == id, hub_listener.c.lease_owner == owner).values(**values)
        )
        return bool(result.rowcount)

    async def settle(self, id: str, owner: str, *, cursor: int, now: datetime, failure: Failure | None) -> bool:
        """The outcome of one batch, in one statement: the cursor moves to `cursor` (events delivered or skipped)
        and, without a failure, the listener is active with no failure streak; with one, the failure is recorded
        (a retry scheduled, or the listener failing with its slow retry, lease released)."""
        c = hub_listener.c
        values: dict[str, Any] = {"cursor": cursor, "updated_at": now}
        if failure is None:
            values.update(state=ACTIVE, attempts=0, first_failure_at=None, next_attempt_at=None, last_error=None,
                          failed_at=None)
        else:
            values.update(attempts=failure.attempts, first_failure_at=failure.first_failure_at,
                          last_error=failure.error, next_attempt_at=failure.next_attempt_at)
            if failure.give_up:
                values.update(state=FAILING, lease_owner=None, lease_until=None,
                              failed_at=failure.failed_at or now)
            elif failure.recovered:
                values.update(state=ACTIVE, failed_at=None)
        result = await self.conn.execute(
            update(hub_listener).where(c.id == id, c.lease_owner == owner, c.cursor <= cursor).values(**values)
        )
        return bool(result.rowcount)

    async def record_many(self, rows: list[dict[str, Any]]) -> None:
        """Delivery attempts of one batch (the keyword arguments of `record`), in one statement."""
        if rows:
            await self.conn.execute(insert(hub_delivery), rows)

    # ---- attempts ----------------------------------------------------------------------------------------

    async def record(
        self, *, listener_id: str, seq: int, event_id: str, event_type: str, attempt: int, at: datetime,
        status_code: int | None, error: str | None, duration_ms: float, delivered: bool,
    ) -> None:
        await self.conn.execute(
            insert(hub_delivery).values(
                listener_id=listener_id, seq=seq, event_id=event_id, event_type=event_type, attempt=attempt, at=at,
                status_code=status_code, error=error, duration_ms=duration_ms, delivered=delivered,
            )
        )

    async def deliveries(self, listener_id: str, offset: int, limit: int) -> tuple[list[DeliveryRow], int]:
        """Attempts for one listener, newest first."""
        where = hub_delivery.c.listener_id == listener_id
        rows = (
            await self.conn.execute(
                select(hub_delivery).where(where).order_by(hub_delivery.c.id.desc()).offset(offset).limit(limit)
            )
        ).all()
        total = (await self.conn.execute(select(func.count()).select_from(hub_delivery).where(where))).scalar_one()
        return [_delivery(r) for r in rows], int(total)
