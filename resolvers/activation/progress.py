"""An activation's Monitors: the per-member summary, progress while it runs, the outcome when it ends."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from resolvers.activation.writes import announce, update_monitor
from resolvers.context import Caller, RequestContext
from resolvers.rules import monitor_docs
from store.activation_types import ActivationRow, StepRow
from store.uow import UnitOfWork


def context_of(act: ActivationRow, correlation_id: str | None = None) -> RequestContext:
    """The request context an activation was submitted with (the runner acts on the caller's behalf);
    `correlation_id` names another request of it (an amend, a cancel) when the change is that request's."""
    return RequestContext(
        caller=Caller(identity=act.actor, tenant=act.tenant),
        correlation_id=correlation_id or act.correlation_id or act.id,
        base_url=act.base_url,
    )


def member_status(step: StepRow) -> str:
    """pending | running | completed | failed | cancelled | compensating | compensated | compensationFailed."""
    if step.compensation == "done":
        return "compensated"
    if step.compensation == "failed":
        return "compensationFailed"
    if step.compensation == "resolved":
        return "resolvedByHand"
    if step.compensation == "running":
        return "compensating"
    return {"succeeded": "completed"}.get(step.status, step.status)


def outcome(act: ActivationRow, steps: list[StepRow]) -> monitor_docs.Outcome:
    """What the activation's facts mean (resolvers.rules.monitor_docs says how each outcome is written)."""
    failed = [s for s in steps if s.status == "failed"]
    if act.status == "resolved":
        return monitor_docs.resolved_by_hand(act.operation, succeeded=True)
    if act.status == "resolvedFailed":
        return monitor_docs.resolved_by_hand(act.operation, succeeded=False)
    if act.cancel_requested:
        return monitor_docs.CANCELLED
    if failed or any(s.compensation == "failed" for s in steps):
        # A step that could not even start (no driver action) is a conflict, not the network's failure.
        return monitor_docs.failed(by_network=any(s.action for s in failed) or not failed)
    return monitor_docs.completed(act.operation)


def summary(
    ctx: RequestContext,
    act: ActivationRow,
    steps: list[StepRow],
    states: dict[str, str | None],
    outcome_name: str,
) -> dict[str, Any]:
    def state(sid: str) -> str | None:
        return states.get(sid)

    members = []
    for s in steps:
        entry: dict[str, Any] = {
            "id": s.service_id, "href": ctx.service_href(s.service_id), "stepId": s.id, "action": s.action,
            "fromState": s.from_state, "targetState": s.to_state, "status": member_status(s),
            "state": state(s.service_id),
        }
        if s.error:
            entry["error"] = s.error
        if s.result:
            entry["result"] = s.result
        members.append(entry)
    out: dict[str, Any] = {
        "outcome": outcome_name,
        "activation": act.id,
        "operation": act.operation,
        "policy": act.policy,
        "service": {"id": act.root_id, "href": ctx.service_href(act.root_id), "state": state(act.root_id)},
        "members": members,
    }
    if act.cancelled_by:
        out["cancelledBy"] = act.cancelled_by
    if act.error:
        out["error"] = act.error
    return out


async def publish(
    uow: UnitOfWork, act: ActivationRow, now: datetime, *, final: bool, progress_first: bool = False
) -> list[str]:
    """Write the activation's current summary into each of its monitors; returns the monitor ids.

    `progress_first` (with `final`): the work progressed and finished in this one transaction; each Monitor
    announces the progress (its event, as if written) and then stores and announces the outcome, from one read
    of the steps: the same events as two writes, one row update."""
    ctx = context_of(act)
    steps = await uow.activations.steps(act.id, light=True)
    states = await uow.services.states([act.root_id, *(s.service_id for s in steps)])
    result = outcome(act, steps) if final else None
    body = summary(ctx, act, steps, states, result.name if result else "inProgress")
    before = summary(ctx, act, steps, states, "inProgress") if final and progress_first else None
    ids = []
    later = _later_requests(act.monitors)
    rows = {r.id: r for r in await uow.monitors.get_many(entry["id"] for entry in act.monitors)}
    for entry in act.monitors:
        mid = entry["id"]
        row = rows.pop(mid, None) or await uow.monitors.get(mid)  # named twice: read again after the update
        if row is None:
            continue
        by = later.get(mid, [])
        cancelled_by = act.cancelled_by
        if cancelled_by and entry.get("role") != "cancel" and cancelled_by not in by and cancelled_by != mid:
            by = [*by, cancelled_by]
        mctx = context_of(act, row.correlation_id)  # each monitor's events: the request it tracks
        if before is not None:
            doc = _conditioned(act, monitor_docs.progressed(row.doc, _own(before, entry, by)))
            if await announce(uow, mctx, mid, row.doc, doc, now):
                row = dataclasses.replace(row, doc=doc)
        own = _own(body, entry, by)
        if result is None:
            doc = monitor_docs.progressed(row.doc, own)
        elif entry.get("role") == "cancel":
            # The request that went back asked for exactly this undoing: it succeeded when nothing is left.
            undone = not any(s.compensation == "failed" for s in steps)
            doc = monitor_docs.finished(row.doc, monitor_docs.UNDONE if undone else monitor_docs.NOT_UNDONE, own)
        else:
            doc = monitor_docs.finished(row.doc, result, own)
        doc = _conditioned(act, doc)
        if before is not None and doc == row.doc:  # announced, not stored yet (the outcome changed nothing)
            await uow.monitors.update(mid, doc, row.version, now)
        await update_monitor(uow, mctx, mid, doc, now, row)
        ids.append(mid)
    return ids


def _own(body: dict[str, Any], entry: dict[str, str], by: list[str]) -> dict[str, Any]:
    own = {**body, "amendedBy": by} if by else body
    if entry.get("role") == "amend":
        own = {**own, "operation": "patch"}  # the amending request was a PATCH, whatever it amended
    return own


def _conditioned(act: ActivationRow, doc: dict[str, Any]) -> dict[str, Any]:
    return monitor_docs.with_condition(
        doc, held_reason=act.held_reason, held_at=act.held_at, jeopardy_at=act.jeopardy_at,
        actions=act.operator_log,
    )


def _later_requests(monitors: list[dict[str, str]]) -> dict[str, list[str]]:
    """For each monitor, the monitors of the requests that amended or cancelled its work after it (amendedBy)."""
    out: dict[str, list[str]] = {}
    for i, entry in enumerate(monitors):
        out[entry["id"]] = [m["id"] for m in monitors[i + 1:] if m.get("role") in ("amend", "cancel")]
    return out
