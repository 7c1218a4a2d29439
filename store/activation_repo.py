"""Activation repository: plans and steps of the activation engine, leases on them. All SQL for activations.

Every state change of a step is a conditional UPDATE (`WHERE status = <expected>`), so that a request that
amends a pending step and the runner that starts it can never both win; leases are conditional UPDATEs too,
and on PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED` so that several servers share the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store.activation_batch import BatchQueries
from store.activation_fallout import FalloutQueries
from store.activation_types import (
    HEAVY_COLUMNS,
    UNFINISHED,
    ActivationRow,
    NewStep,
    RowProxy,
    StepRow,
    activation_row,
    step_row,
)
from store.tables import DEFAULT_TENANT, activation, activation_step


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(activation.c.lease_owner.is_(None), activation.c.lease_expires < now)


def _runnable(now: datetime) -> ColumnElement[bool]:
    """Not held for an operator, and not waiting out the backoff after an unexpected error."""
    return and_(
        activation.c.held_reason.is_(None),
        or_(activation.c.retry_after.is_(None), activation.c.retry_after <= now),
    )


class ActivationRepository(FalloutQueries, BatchQueries):
    """Queries and writes for activations on one connection; the caller owns the transaction."""

    def __init__(self, conn: AsyncConnection, tenant: str | None = None) -> None:
        self.tenant = tenant  # the tenant of the activations this unit of work inserts (reads follow services)
        self.conn = conn

    @property
    def _postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    # ---- plans -------------------------------------------------------------------------------------------

    async def insert(
        self,
        *,
        id: str,
        root_id: str,
        operation: str,
        policy: str,
        monitors: list[dict[str, str]],
        delete_root: bool,
        base_url: str,
        correlation_id: str | None,
        actor: str,
        steps: Sequence[NewStep],
        now: datetime,
    ) -> None:
        await self.conn.execute(
            insert(activation).values(
                id=id, root_id=root_id, operation=operation, policy=policy, status="queued",
                cancel_requested=False, delete_root=delete_root, monitors=monitors, done_count=0,
                base_url=base_url, correlation_id=correlation_id, actor=actor, created_at=now, updated_at=now,
                tenant=self.tenant or DEFAULT_TENANT,
            )
        )
        if steps:
            await self.conn.execute(
                insert(activation_step),
                [
                    {
                        "id": s.id, "activation_id": id, "position": s.position, "service_id": s.service_id,
                        "depends_on": s.depends_on, "from_state": s.from_state, "to_state": s.to_state,
                        "changes": s.changes, "by_value": s.by_value, "action": s.action, "status": "pending",
                        "attempts": 0,
                    }
                    for s in steps
                ],
            )

    async def get(self, id: str, *, for_update: bool = False) -> ActivationRow | None:
        stmt = select(activation).where(activation.c.id == id)
        if self.tenant is not None:
            stmt = stmt.where(activation.c.tenant == self.tenant)
        if for_update and self._postgres:
            stmt = stmt.with_for_update()
        r = (await self.conn.execute(stmt)).first()
        return activation_row(r) if r else None

    async def get_many(self, ids: Iterable[str]) -> dict[str, ActivationRow]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        mine = true() if self.tenant is None else activation.c.tenant == self.tenant
        rows = (await self.conn.execute(select(activation).where(activation.c.id.in_(wanted), mine))).all()
        return {r.id: activation_row(r) for r in rows}

    async def steps(self, activation_id: str, *, light: bool = False) -> list[StepRow]:
        """The steps of an activation in plan order; `light` leaves out the documents (for summaries)."""
        columns = [c for c in activation_step.c if not (light and c.name in HEAVY_COLUMNS)]
        stmt = (
            select(*columns)
            .where(activation_step.c.activation_id == activation_id)
            .order_by(activation_step.c.position)
        )
        rows = (await self.conn.execute(stmt)).all()
        if not light:
            return [step_row(r) for r in rows]
        return [step_row(RowProxy({**dict.fromkeys(HEAVY_COLUMNS), **r._mapping})) for r in rows]

    async def step(self, step_id: str) -> StepRow | None:
        r = (await self.conn.execute(select(activation_step).where(activation_step.c.id == step_id))).first()
        return step_row(r) if r else None

    async def unfinished_for(
        self, service_ids: Iterable[str], *, for_update: bool = False
    ) -> list[tuple[ActivationRow, StepRow]]:
        """Unfinished activations touching these services, with the step for each service, queue order."""
        wanted = list(dict.fromkeys(service_ids))
        if not wanted:
            return []
        stmt = (
            select(activation, activation_step)
            .join(activation_step, activation_step.c.activation_id == activation.c.id)
            .where(activation_step.c.service_id.in_(wanted), activation.c.status.in_(UNFINISHED))
            .order_by(activation.c.seq, activation_step.c.position)
        )
        if for_update and self._postgres:
            stmt = stmt.with_for_update(of=activation)
        rows = (await self.conn.execute(stmt)).all()
        out = []
        for r in rows:
            m = r._mapping
            act = activation_row(RowProxy({c.name: m[activation.c[c.name]] for c in activation.c}))
            step = step_row(RowProxy({c.name: m[activation_step.c[c.name]] for c in activation_step.c}))
            out.append((act, step))
        return out

    async def set_monitors(self, id: str, monitors: list[dict[str, str]], now: datetime) -> None:
        await self.conn.execute(
            update(activation).where(activation.c.id == id).values(monitors=monitors, updated_at=now)
        )

    async def request_cancel(self, id: str, by: str, now: datetime) -> bool:
        """Ask the runner to stop and compensate; False when the activation already finished.

        Held work is released by it: the client's cancel is the instruction an operator's abort would give.
        """
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.status.in_(UNFINISHED))
            .values(cancel_requested=True, cancelled_by=by, updated_at=now, held_reason=None, held_at=None,
                    failures=0, failing_since=None, retry_after=None)
        )
        return result.rowcount == 1

    async def cancel_queued(self, id: str, by: str, now: datetime) -> bool:
        """Cancel an activation that never started: no work to undo. False when it has started meanwhile."""
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.status == "queued", _no_started_step(id))
            .values(status="cancelled", cancel_requested=True, cancelled_by=by, updated_at=now,
                    lease_owner=None, lease_expires=None)
        )
        if result.rowcount != 1:
            return False
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == id, activation_step.c.status == "pending")
            .values(status="cancelled", finished_at=now)
        )
        return True

    # ---- leases ------------------------------------------------------------------------------------------

    async def claimable(self, now: datetime, limit: int, exclude: Iterable[str] = ()) -> list[str]:
        """Unfinished activations nobody holds whose services wait for no earlier unfinished activation."""
        mine = activation_step.alias("mine")
        other = activation_step.alias("other")
        earlier = activation.alias("earlier")
        blocked = exists(
            select(1)
            .select_from(mine.join(other, other.c.service_id == mine.c.service_id)
                         .join(earlier, earlier.c.id == other.c.activation_id))
            .where(
                mine.c.activation_id == activation.c.id,
                earlier.c.seq < activation.c.seq,
                earlier.c.status.in_(UNFINISHED),
            )
        )
        stmt = (
            select(activation.c.id)
            .where(activation.c.status.in_(UNFINISHED), _lease_free(now), _runnable(now), ~blocked)
            .order_by(activation.c.seq)
            .limit(limit)
        )
        skip = list(exclude)
        if skip:
            stmt = stmt.where(activation.c.id.not_in(skip))
        if self._postgres:
            stmt = stmt.with_for_update(of=activation, skip_locked=True)
        return list((await self.conn.execute(stmt)).scalars())

    async def claim(self, id: str, owner: str, until: datetime, now: datetime) -> bool:
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.status.in_(UNFINISHED), _lease_free(now), _runnable(now))
            .values(lease_owner=owner, lease_expires=until, updated_at=now)
        )
        return result.rowcount == 1

    async def renew(self, ids: Iterable[str], owner: str, until: datetime) -> set[str]:
        """Extend the leases `owner` still holds; returns the ids another runner holds now (lost).

        An id nobody holds is not lost: its runner finished or let it go a moment ago.

        Rows are locked in one order (by id) and a row locked by someone else is skipped, not waited for: on
        this server that is its own work recording a step (`touch` extends the lease too), elsewhere it is a
        request or a claim that is over in a moment. So renewal never waits behind work and never deadlocks.
        """
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        mine = and_(activation.c.id.in_(wanted), activation.c.lease_owner == owner)
        if self._postgres:
            locked = select(activation.c.id).where(mine).order_by(activation.c.id).with_for_update(skip_locked=True)
            ready = list((await self.conn.execute(locked)).scalars())
            if ready:
                await self.conn.execute(update(activation).where(activation.c.id.in_(ready)).values(
                    lease_expires=until))
        else:
            await self.conn.execute(update(activation).where(mine).values(lease_expires=until))
        others = select(activation.c.id).where(
            activation.c.id.in_(wanted), activation.c.lease_owner.is_not(None), activation.c.lease_owner != owner)
        return set((await self.conn.execute(others)).scalars())

    async def extend(self, id: str, owner: str, until: datetime) -> None:
        """Extend `owner`'s lease (never shorten it): the last statement of a runner's transaction."""
        await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.lease_owner == owner, activation.c.lease_expires < until)
            .values(lease_expires=until)
        )

    async def holder(self, id: str) -> str | None:
        """Who holds the lease on `id` now (None: nobody)."""
        stmt = select(activation.c.lease_owner).where(activation.c.id == id)
        value = (await self.conn.execute(stmt)).scalar_one_or_none()
        return None if value is None else str(value)

    async def release(self, ids: Iterable[str], owner: str) -> None:
        wanted = list(ids)
        if wanted:
            await self.conn.execute(
                update(activation)
                .where(activation.c.id.in_(wanted), activation.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None)
            )

    async def touch(
        self, id: str, owner: str, now: datetime, *, count_done: bool = False, until: datetime | None = None
    ) -> int | None:
        """Check the lease and serialise writers of one activation; returns the success counter, None if lost.

        Every transaction of the runner that records an outcome begins here: the row lock it takes orders
        concurrent step results of one activation on PostgreSQL, and the owner check stops a runner that
        lost its lease from recording anything.
        """
        values: dict[str, Any] = {"updated_at": now}
        if until is not None:  # recording work proves the runner alive: the lease is extended with it
            values["lease_expires"] = until
        if count_done:
            values["done_count"] = activation.c.done_count + 1
        stmt = (
            update(activation)
            .where(activation.c.id == id, activation.c.lease_owner == owner)
            .values(**values)
            .returning(activation.c.done_count)
        )
        value = (await self.conn.execute(stmt)).scalar_one_or_none()
        return None if value is None else int(value)

    async def set_status(
        self, id: str, status: str, now: datetime, *, error: str | None = None, unless_cancelled: bool = False
    ) -> bool:
        conditions = [activation.c.id == id]
        if unless_cancelled:
            conditions.append(activation.c.cancel_requested.is_(False))
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if error is not None:
            values["error"] = error
        if status not in UNFINISHED:
            values.update(lease_owner=None, lease_expires=None)
        result = await self.conn.execute(update(activation).where(and_(*conditions)).values(**values))
        return result.rowcount == 1

    # ---- steps -------------------------------------------------------------------------------------------

    async def amend_step(
        self, step_id: str, *, to_state: str | None, changes: list[dict[str, Any]], by_value: list[str],
        action: str | None, correlation_id: str | None = None,
    ) -> bool:
        """Change what a step will do, only while it has not started (`correlation_id`: the amending request)."""
        result = await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.id == step_id, activation_step.c.status == "pending")
            .values(to_state=to_state, changes=changes, by_value=by_value, action=action,
                    correlation_id=correlation_id)
        )
        return result.rowcount == 1

    async def start_step(
        self, step_id: str, *, action: str | None, from_state: str | None, before: dict[str, Any],
        after: dict[str, Any], now: datetime,
    ) -> bool:
        """pending -> running, recorded before the driver is called."""
        result = await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.id == step_id, activation_step.c.status == "pending")
            .values(status="running", action=action, from_state=from_state, before_doc=before, after_doc=after,
                    attempts=activation_step.c.attempts + 1, started_at=now)
        )
        return result.rowcount == 1

    async def retry_step(self, step_id: str, now: datetime) -> None:
        """An in-doubt step (running when its runner died) is sent again, with the same id."""
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.id == step_id)
            .values(attempts=activation_step.c.attempts + 1, started_at=now)
        )

    async def finish_step(
        self, step_id: str, *, status: str, now: datetime, expect: Sequence[str] = ("running",),
        result: dict[str, Any] | None = None, error: str | None = None, done_order: int | None = None,
        action: str | None = None, from_state: str | None = None, before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status, "finished_at": now, "result": result, "error": error,
                                  "done_order": done_order}
        if before is not None:
            values.update(before_doc=before, after_doc=after, action=action, from_state=from_state,
                          started_at=now)
        outcome = await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.id == step_id, activation_step.c.status.in_(list(expect)))
            .values(**values)
        )
        return outcome.rowcount == 1

    async def cancel_pending_steps(self, activation_id: str, now: datetime, reason: str) -> None:
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == activation_id, activation_step.c.status == "pending")
            .values(status="cancelled", finished_at=now, error=reason)
        )

    async def set_compensation(self, step_id: str, value: str, *, error: str | None = None) -> None:
        values: dict[str, Any] = {"compensation": value}
        if error is not None:
            values["error"] = error
        await self.conn.execute(update(activation_step).where(activation_step.c.id == step_id).values(**values))


def _no_started_step(activation_id: str) -> ColumnElement[bool]:
    return ~exists(
        select(1).where(
            activation_step.c.activation_id == activation_id, activation_step.c.status != "pending"
        )
    )
