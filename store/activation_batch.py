"""Activation SQL for group commit: many activations' steps recorded in one transaction, a statement per kind
of change for the whole batch (not per activation). A mixin of `store.activation_repo.ActivationRepository`.

Every write here is conditional on the runner still holding the lease (`touch_many` returns only the rows it
still holds, and locks them on PostgreSQL until the commit), so a runner that lost a lease records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.activation_types import UNFINISHED, ActivationRow, StepRow, activation_row, step_row
from store.tables import activation, activation_step

_STEP = activation_step.c


class BatchQueries:
    conn: AsyncConnection

    async def claim_many(self, ids: Sequence[str], owner: str, until: datetime, now: datetime) -> list[str]:
        """Take the leases of those of `ids` that are still free and runnable: one statement; the ids taken."""
        if not ids:
            return []
        stmt = (
            update(activation)
            .where(activation.c.id.in_(list(ids)), activation.c.status.in_(UNFINISHED),
                   or_(activation.c.lease_owner.is_(None), activation.c.lease_expires < now),
                   activation.c.held_reason.is_(None),
                   or_(activation.c.retry_after.is_(None), activation.c.retry_after <= now))
            .values(lease_owner=owner, lease_expires=until, updated_at=now)
            .returning(activation.c.id)
        )
        return list((await self.conn.execute(stmt)).scalars())

    async def touch_many(
        self, ids: Iterable[str], owner: str, now: datetime, until: datetime
    ) -> dict[str, ActivationRow]:
        """Check and extend `owner`'s leases on `ids` (locking the rows on PostgreSQL), in one statement: the
        activations it still holds, as they stand. An id missing from the answer is lost (or finished)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        stmt = (
            update(activation)
            .where(activation.c.id.in_(wanted), activation.c.lease_owner == owner)
            .values(updated_at=now, lease_expires=until)
            .returning(*activation.c)
        )
        return {r.id: activation_row(r) for r in (await self.conn.execute(stmt)).all()}

    async def steps_of(self, activation_ids: Iterable[str]) -> dict[str, list[StepRow]]:
        """Every step of each activation, in plan order: one statement for the batch."""
        wanted = sorted(set(activation_ids))
        out: dict[str, list[StepRow]] = {a: [] for a in wanted}
        if wanted:
            stmt = select(activation_step).where(_STEP.activation_id.in_(wanted)).order_by(
                _STEP.activation_id, _STEP.position)
            for r in (await self.conn.execute(stmt)).all():
                out[r.activation_id].append(step_row(r))
        return out

    async def steps_by_id(self, step_ids: Iterable[str]) -> dict[str, StepRow]:
        wanted = sorted(set(step_ids))
        if not wanted:
            return {}
        rows = (await self.conn.execute(select(activation_step).where(_STEP.id.in_(wanted)))).all()
        return {r.id: step_row(r) for r in rows}

    async def start_steps(self, starts: Sequence[dict[str, Any]], now: datetime) -> None:
        """pending -> running for each of `starts` ({step, action, from_state, before, after, attempts}), recorded
        before their drivers are called: one (executemany) statement."""
        if not starts:
            return
        stmt = (
            update(activation_step)
            .where(_STEP.id == bindparam("step"), _STEP.status == "pending")
            .values(status="running", action=bindparam("action"), from_state=bindparam("from_state"),
                    before_doc=bindparam("before"), after_doc=bindparam("after"), attempts=bindparam("attempts"),
                    started_at=now)
        )
        await self.conn.execute(stmt, list(starts))

    async def finish_steps(self, outcomes: Sequence[dict[str, Any]], now: datetime) -> None:
        """Record drivers' answers ({step, status, result, error, done_order}) of running steps: one statement."""
        if not outcomes:
            return
        stmt = (
            update(activation_step)
            .where(_STEP.id == bindparam("step"), _STEP.status == "running")
            .values(status=bindparam("status"), result=bindparam("result"), error=bindparam("error"),
                    done_order=bindparam("done_order"), finished_at=now)
        )
        await self.conn.execute(stmt, list(outcomes))

    async def advance_many(self, changes: Sequence[dict[str, Any]], now: datetime) -> None:
        """Each activation's success counter and status ({activation, done_count, status}); a finished one lets
        its lease go. One statement per kind of change."""
        finished = [c for c in changes if c["status"] not in UNFINISHED]
        going = [c for c in changes if c["status"] in UNFINISHED]
        a = activation.c
        if going:
            await self.conn.execute(
                update(activation).where(a.id == bindparam("activation"))
                .values(done_count=bindparam("done_count"), status=bindparam("status"), updated_at=now),
                list(going))
        if finished:
            await self.conn.execute(
                update(activation).where(a.id == bindparam("activation"))
                .values(done_count=bindparam("done_count"), status=bindparam("status"), updated_at=now,
                        lease_owner=None, lease_expires=None),
                list(finished))

    async def extend_many(self, ids: Iterable[str], owner: str, until: datetime) -> None:
        """Extend `owner`'s leases (never shorten them): the last statement of a batch's transaction."""
        wanted = sorted(set(ids))
        if wanted:
            await self.conn.execute(
                update(activation)
                .where(and_(activation.c.id.in_(wanted), activation.c.lease_owner == owner,
                            activation.c.lease_expires < until))
                .values(lease_expires=until)
            )
