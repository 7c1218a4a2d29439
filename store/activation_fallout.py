"""Activation SQL for fallout: holding work for an operator, bounded retries, jeopardy, the operator's log.

A mixin of `store.activation_repo.ActivationRepository` (one repository on the unit of work, two files).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.activation_types import UNFINISHED, ActivationRow, activation_row
from store.tables import activation, activation_step


class FalloutQueries:
    conn: AsyncConnection

    async def hold(self, id: str, owner: str, reason: str, now: datetime) -> bool:
        """Park the activation for an operator (only while `owner` holds it); nobody claims it while held.

        The lease stays with the runner until it has let its other steps record their outcome (then it releases).
        """
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.lease_owner == owner, activation.c.status.in_(UNFINISHED))
            .values(held_reason=reason[:4000], held_at=now, updated_at=now)
        )
        return result.rowcount == 1

    async def record_failure(self, id: str, owner: str, now: datetime, retry_after: datetime) -> ActivationRow | None:
        """One more unexpected error: count it, wait before the next claim, let the lease go."""
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.lease_owner == owner)
            .values(failures=activation.c.failures + 1, failing_since=func.coalesce(activation.c.failing_since, now),
                    retry_after=retry_after, lease_owner=None, lease_expires=None, updated_at=now)
        )
        if result.rowcount != 1:
            return None
        r = (await self.conn.execute(select(activation).where(activation.c.id == id))).first()
        return activation_row(r) if r else None

    async def clear_failures(self, id: str) -> None:
        await self.conn.execute(
            update(activation).where(activation.c.id == id, activation.c.failures > 0)
            .values(failures=0, failing_since=None, retry_after=None)
        )

    async def flag_jeopardy(self, id: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(activation)
            .where(activation.c.id == id, activation.c.jeopardy_at.is_(None), activation.c.status.in_(UNFINISHED))
            .values(jeopardy_at=now)
        )
        return result.rowcount == 1

    async def held_activations(self, limit: int = 1000) -> list[ActivationRow]:
        stmt = (
            select(activation)
            .where(activation.c.held_reason.is_not(None), activation.c.status.in_(UNFINISHED))
            .order_by(activation.c.seq)
            .limit(limit)
        )
        return [activation_row(r) for r in (await self.conn.execute(stmt)).all()]

    async def by_monitor(self, monitor_id: str, *, for_update: bool = False) -> ActivationRow | None:
        """The activation a monitor tracks (its id is listed in `monitors`), newest first."""
        needle = '"' + monitor_id.replace("%", "").replace("_", "").replace('"', "") + '"'
        stmt = (
            select(activation)
            .where(cast(activation.c.monitors, Text).contains(needle, autoescape=True))
            .order_by(activation.c.seq.desc())
            .limit(1)
        )
        if for_update and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        r = (await self.conn.execute(stmt)).first()
        if r is None:
            return None
        row = activation_row(r)
        return row if any(m.get("id") == monitor_id for m in row.monitors) else None

    async def release_hold(
        self, id: str, entry: dict[str, Any], now: datetime, *, cancel: bool = False
    ) -> bool:
        """An operator's retry (or abort, `cancel`): claimable again, failed compensations to be tried again."""
        act = await self._log(id, entry)
        if act is None or not act.held:
            return False
        values: dict[str, Any] = {"held_reason": None, "held_at": None, "failures": 0, "failing_since": None,
                                  "retry_after": None, "updated_at": now}
        if cancel:
            values["cancel_requested"] = True
        await self.conn.execute(update(activation).where(activation.c.id == id).values(**values))
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == id, activation_step.c.compensation == "failed")
            .values(compensation=None)
        )
        return True

    async def resolve_by_hand(self, id: str, entry: dict[str, Any], status: str, now: datetime) -> bool:
        """The operator records the outcome: no more driver calls; what was open is marked resolved."""
        act = await self._log(id, entry)
        if act is None or not act.held:
            return False
        note = f"resolved by hand: {entry.get('reason') or ''}".rstrip(": ")
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == id, activation_step.c.status == "pending")
            .values(status="cancelled", finished_at=now, error=note)
        )
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == id, activation_step.c.status == "running")
            .values(status="resolved", finished_at=now, error=note)
        )
        await self.conn.execute(
            update(activation_step)
            .where(activation_step.c.activation_id == id, activation_step.c.compensation.in_(["running", "failed"]))
            .values(compensation="resolved")
        )
        await self.conn.execute(
            update(activation).where(activation.c.id == id).values(
                status=status, held_reason=None, held_at=None, lease_owner=None, lease_expires=None, updated_at=now)
        )
        return True

    async def _log(self, id: str, entry: dict[str, Any]) -> ActivationRow | None:
        stmt = select(activation).where(activation.c.id == id)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        r = (await self.conn.execute(stmt)).first()
        if r is None:
            return None
        act = activation_row(r)
        await self.conn.execute(
            update(activation).where(activation.c.id == id).values(operator_log=[*act.operator_log, entry])
        )
        return act
