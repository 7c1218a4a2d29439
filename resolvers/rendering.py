"""The representation of services as readers get it: the as-is document plus what is under way.

What is under way is rendered, never stored: `x-activation` lists, in queue order, each unfinished activation
that touches the service (README, "Reading the to-be"). It appears only while work is under way, so a stable
service reads back exactly as it was written, and TMF clients (tolerant readers) ignore it:

    "x-activation": [{"monitor": {"id", "href"}, "status": "queued" | "pending" | "running" | "succeeded"
                      | "compensating" | "cancelling", "action": "activate", "targetState": "active",
                      "changedAttributes": ["serviceCharacteristic"]}]
"""

from __future__ import annotations

from typing import Any

from resolvers.context import RequestContext
from resolvers.rules import documents, envelope
from resolvers.rules.intents import EXTENSION
from store.activation_types import ActivationRow, StepRow
from store.services import ServiceRow
from store.uow import UnitOfWork


def _status(act: ActivationRow, step: StepRow) -> str:
    if act.cancel_requested:
        return "cancelling"
    if act.status in ("queued", "compensating"):
        return act.status
    return step.status


def under_way(ctx: RequestContext, chain: list[tuple[ActivationRow, StepRow]]) -> list[dict[str, Any]]:
    out = []
    for act, step in chain:
        monitor_id = act.monitors[0]["id"] if act.monitors else None
        entry: dict[str, Any] = {
            "monitor": {"id": monitor_id, "href": ctx.monitor_href(monitor_id)} if monitor_id else None,
            "status": _status(act, step),
            "action": step.action,
            "targetState": step.to_state,
            "changedAttributes": envelope.changed_attributes(step.changes),
        }
        out.append(entry)
    return out


async def render_services(uow: UnitOfWork, ctx: RequestContext, rows: list[ServiceRow]) -> list[dict[str, Any]]:
    """TMF representations of `rows` (by-value members live, work under way in `x-activation`).

    `rows` must have been read for this call (as every caller does): their documents, and the members read
    here, become parts of the representations without a copy (`documents.render(fresh=True)`).
    """
    ids = [r.id for r in rows]
    # Members are looked up per owner, so a service that another row holds by value is still rendered as
    # the reference this row made to it.
    members: dict[str, dict[str, dict[str, Any]]] = {}
    for owner, member in await uow.services.by_value_members(ids):
        members.setdefault(owner, {})[member.id] = member.doc
    chains: dict[str, list[tuple[ActivationRow, StepRow]]] = {}
    for act, step in await uow.activations.unfinished_for(ids):
        chains.setdefault(step.service_id, []).append((act, step))
    out = []
    for r in rows:
        rendered = documents.render(r.id, r.doc, ctx.service_href, members.get(r.id), fresh=True)
        if r.id in chains:
            rendered[EXTENSION] = under_way(ctx, chains[r.id])
        out.append(rendered)
    return out


async def render_one(uow: UnitOfWork, ctx: RequestContext, id: str) -> dict[str, Any] | None:
    row = await uow.services.get(id)
    if row is None:
        return None
    return (await render_services(uow, ctx, [row]))[0]
