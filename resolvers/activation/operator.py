"""What an operator does with held work (docs/activation.md, "Held work"): retry, abort, resolve by hand.

Work is held when its retries ran out, a compensation could not complete, or a driver stayed unreachable; the
Monitor shows `held: true` and `heldReason`. Each action is recorded on the Monitor (`operatorActions`: who,
what, why, when) and announced by its events:

- retry: claimable again, from where it stopped (in-doubt steps are sent again under their ids, a failed
  compensation is tried again);
- abort: compensate what succeeded (as a cancel would), then finish `InError`;
- resolve: the operator put things right by hand and records the outcome (`Completed` or `InError`): no more
  driver calls; what was open is marked resolved by hand, the as-is documents stay as recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from resolvers.activation import progress
from resolvers.activation.notify import Notifier
from resolvers.activation.writes import render_monitor
from resolvers.context import ADMIN, RequestContext
from resolvers.rules import monitor_docs
from resolvers.rules.errors import Conflict, NotFound, Unauthorised, ValidationFailed
from store.activation_repo import ActivationRow
from store.uow import ALL_TENANTS, Store, UnitOfWork

ACTIONS = ("retry", "abort", "resolve")
RESOLVED = {monitor_docs.COMPLETED: "resolved", monitor_docs.IN_ERROR: "resolvedFailed"}


@dataclass(frozen=True)
class HeldWork:
    """One held activation as an operator lists it."""

    activation_id: str
    monitor_ids: list[str]
    service_id: str
    reason: str
    since: datetime | None


def _check_admin(ctx: RequestContext) -> None:
    if not ctx.caller.may(ADMIN):
        raise Unauthorised("operator actions on held work need the 'admin' scope")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Operator:
    store: Store
    notifier: Notifier
    wake: Callable[[], None]  # the local runner: work released here is claimed at once

    async def held(self, tenant: str | None = ALL_TENANTS, limit: int = 1000) -> list[HeldWork]:
        """Held work of `tenant` (None: every tenant, for the operator's CLI)."""
        async with self.store.read(tenant) as uow:
            rows = await uow.activations.held_activations(limit)
        return [HeldWork(a.id, [m["id"] for m in a.monitors], a.root_id, a.held_reason or "", a.held_at) for a in rows]

    async def retry(self, ctx: RequestContext, monitor_id: str, reason: str, by: str | None = None) -> dict[str, Any]:
        return await self._release(ctx, monitor_id, "retry", reason, by, cancel=False)

    async def abort(self, ctx: RequestContext, monitor_id: str, reason: str, by: str | None = None) -> dict[str, Any]:
        return await self._release(ctx, monitor_id, "abort", reason, by, cancel=True)

    async def resolve(
        self, ctx: RequestContext, monitor_id: str, state: str, reason: str, by: str | None = None
    ) -> dict[str, Any]:
        wanted = monitor_docs.normalize_state(state or "")
        if wanted not in RESOLVED:
            raise ValidationFailed("state", f"must be Completed or InError (the outcome you record); got {state!r}")
        entry = _entry("resolve", reason, by, ctx, state=wanted)
        now = _now()
        _check_admin(ctx)
        async with self.store.write(ctx.caller.scope) as uow:
            act = await self._held(uow, monitor_id)
            if not await uow.activations.resolve_by_hand(act.id, entry, RESOLVED[wanted], now):
                raise Conflict(f"the work of monitor {monitor_id!r} is not held")
            fresh = await _reload(uow, act.id)
            ids = await progress.publish(uow, fresh, now, final=True)
            row = await uow.monitors.get(monitor_id)
        self.notifier.notify(ids)
        assert row is not None
        return render_monitor(ctx, row.id, row.doc)

    async def _release(
        self, ctx: RequestContext, monitor_id: str, action: str, reason: str, by: str | None, *, cancel: bool
    ) -> dict[str, Any]:
        entry = _entry(action, reason, by, ctx)
        now = _now()
        _check_admin(ctx)
        async with self.store.write(ctx.caller.scope) as uow:
            act = await self._held(uow, monitor_id)
            if not await uow.activations.release_hold(act.id, entry, now, cancel=cancel):
                raise Conflict(f"the work of monitor {monitor_id!r} is not held")
            await progress.publish(uow, await _reload(uow, act.id), now, final=False)
            row = await uow.monitors.get(monitor_id)
        self.wake()
        assert row is not None
        return render_monitor(ctx, row.id, row.doc)

    @staticmethod
    async def _held(uow: UnitOfWork, monitor_id: str) -> ActivationRow:
        act = await uow.activations.by_monitor(monitor_id, for_update=True)
        if act is None:
            if await uow.monitors.get(monitor_id) is None:
                raise NotFound("Monitor", monitor_id)
            raise Conflict(f"monitor {monitor_id!r} tracks no activation work (it completed at once)")
        if act.finished:
            raise Conflict(f"the work of monitor {monitor_id!r} is finished ({act.status}): nothing to act on")
        if not act.held:
            raise Conflict(f"the work of monitor {monitor_id!r} is not held: it is still being worked on")
        return act


def _entry(action: str, reason: str, by: str | None, ctx: RequestContext, **extra: Any) -> dict[str, Any]:
    why = (reason or "").strip()
    if not why:
        raise ValidationFailed("reason", "say why (it is recorded on the monitor with who acted)")
    who = (by or "").strip() or ctx.caller.identity
    return {"action": action, "by": who, "reason": why[:2000], "at": _now().isoformat().replace("+00:00", "Z"),
            "correlationId": ctx.correlation_id, **extra}


async def _reload(uow: UnitOfWork, activation_id: str) -> ActivationRow:
    fresh = await uow.activations.get(activation_id)
    assert fresh is not None
    return fresh
