"""The request side of the activation engine: a write becomes an intent, a plan of steps and a Monitor.

Everything here runs inside the request's unit of work: the intent, the steps, the Monitor and their events
commit together with the write, or not at all. The runner (resolvers.activation.execution) does the work afterwards.
How each write meets work already under way is `intents.decide` (README, "In-flight writes").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from resolvers import telemetry
from resolvers.activation import patch_request, progress
from resolvers.activation.integrity import check_links
from resolvers.activation.to_be import Chain, Target, being_undone, predict
from resolvers.activation.writes import apply_doc, delete_service, emit, insert_monitor
from resolvers.context import RequestContext
from resolvers.rendering import render_services
from resolvers.rules import documents, intents, monitor_docs, patching, planning
from resolvers.rules.errors import Conflict, ValidationFailed
from resolvers.rules.intents import Decision, InFlight, without_state
from resolvers.rules.lifecycle import Lifecycle
from store.activation_types import UNFINISHED, ActivationRow, NewStep, StepRow
from store.services import Link, ServiceRow
from store.uow import UnitOfWork

POLICIES = ("atomic", "partial")


@dataclass(frozen=True)
class RequestInfo:
    """What the Monitor's `request` records about the client's request."""

    method: str
    to: str
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Submitted:
    monitor: dict[str, Any] | None  # rendered, as it stands at commit; None: the write changed nothing
    notify: list[str]  # monitors that became final in this transaction (wake their waiters after commit)
    queued: bool  # an activation waits for the runner


@dataclass
class Intake:
    lifecycle: Lifecycle
    default_policy: str = "atomic"

    def policy(self, requested: str | None) -> str:
        if requested is None or requested == "":
            return self.default_policy
        if requested not in POLICIES:
            raise ValidationFailed("activationPolicy", f"must be one of {', '.join(POLICIES)}; got {requested!r}")
        return requested

    # ---- create ------------------------------------------------------------------------------------------

    async def create(
        self, uow: UnitOfWork, ctx: RequestContext, info: RequestInfo, created: list[documents.NewService],
        policy: str, now: datetime,
    ) -> Submitted:
        """Insert the services of a create request (state withheld where a driver must act first) and plan."""
        await check_links(uow, created)
        root = created[0].id
        states = {n.id: n.doc.get("state") for n in created}
        targets = {n.id: Target(n.id, without_state(n.doc), states[n.id]) for n in created}
        for n in created:
            work = targets[n.id].action is not None
            accepted = without_state(n.doc) if work else n.doc  # the state comes when its driver succeeds
            await uow.services.insert(n.id, accepted, n.links, now)
            await uow.services.add_revision(
                service_id=n.id, version=1, operation="create", actor=ctx.caller.identity,
                correlation_id=ctx.correlation_id, at=now, changes=patching.diff({}, accepted),
                state=None if work else n.doc.get("state"),
            )
            if not work:
                targets[n.id] = Target(n.id, n.doc, None)
        nodes, edges = await _graph(uow, [n.id for n in created])
        if states[root] is not None:
            await self._follow(uow, nodes, targets, str(states[root]))
        monitor_id = _new_id()
        act_id = await self._plan(uow, ctx, "create", root, nodes, edges, targets, policy, monitor_id, now,
                                  force_root=False)
        rows = list((await uow.services.get_many([n.id for n in created])).values())
        rendered = {r["id"]: r for r in await render_services(uow, ctx, rows)}
        versions = {r.id: r.version for r in rows}
        for n in reversed(created):  # members first: a listener learns of a bundle after its parts
            await emit(uow, ctx, "ServiceCreateEvent", rendered[n.id], now, version=versions[n.id])
        return await self._monitor(uow, ctx, info, act_id, monitor_id, root, "create", now)

    # ---- patch -------------------------------------------------------------------------------------------

    async def patch(
        self, uow: UnitOfWork, ctx: RequestContext, info: RequestInfo, row: ServiceRow, patch: patching.Patch,
        policy: str, now: datetime,
    ) -> Submitted:
        sid = row.id
        chain = (await _chains(uow, [sid])).get(sid, [])
        predicted, base = predict(row.doc, chain)
        live = [(a, s) for a, s in chain if not being_undone(a)]
        members = await patch_request.held(uow, sid, chain)
        me, new_members = patch_request.patched(self.lifecycle, ctx, sid, predicted, members, patch)
        await patch_request.check_new_ids(uow, new_members)
        await check_links(uow, [me, *new_members])
        if not chain and not new_members and not patching.diff(row.doc, me.doc):
            return Submitted(None, [], False)  # nothing changes and nothing is under way: no write, no work
        requested = _requested(me.doc, predicted)
        tail: InFlight | None = None
        if live:
            act, step = live[-1]
            tail = InFlight(step.status, step.from_state, step.to_state, len(await uow.activations.steps(act.id)) == 1)
        decision = intents.decide(tail, requested)
        if decision is Decision.DIRECT and chain:
            decision = Decision.QUEUE  # a compensation is under way: this write goes after it
        if decision is Decision.AMEND and new_members:
            decision = Decision.QUEUE  # new members need steps of their own
        monitor_id = _new_id()
        if decision is Decision.AMEND:
            act, step = live[-1]
            before_tail, _ = predict(row.doc, chain[: chain.index((act, step))])
            if await self._amend(uow, ctx, act, step, before_tail, predicted, me, requested, monitor_id, now):
                return await self._monitor(uow, ctx, info, act.id, monitor_id, sid, "patch", now, role="amend")
            decision = Decision.QUEUE
        notify: list[str] = []
        undoing: str | None = None
        settling = any(being_undone(a) for a, _ in chain)
        if decision is Decision.CANCEL:
            notify, undoing = await self._cancel(uow, live, monitor_id, now)
            predicted = base
            me, new_members = patch_request.patched(self.lifecycle, ctx, sid, base, members, patch)
            await patch_request.check_new_ids(uow, new_members)
            requested = _requested(me.doc, base)
        if requested is not None:
            self.lifecycle.check(predicted.get("state"), requested)
        targets = {sid: Target(sid, predicted, requested,
                               patching.diff(without_state(predicted), without_state(me.doc)),
                               [m.id for m in new_members])}
        for m in new_members:
            targets[m.id] = Target(m.id, without_state(m.doc), m.doc.get("state"))
            await uow.services.insert(m.id, without_state(m.doc), m.links, now)
            await uow.services.add_revision(
                service_id=m.id, version=1, operation="create", actor=ctx.caller.identity,
                correlation_id=ctx.correlation_id, at=now, changes=patching.diff({}, without_state(m.doc)),
                state=None,
            )
        nodes, edges = await _graph(uow, [sid, *(m.id for m in new_members)], {sid: me.links})
        if requested is not None:
            await self._follow(uow, nodes, targets, requested)
        if undoing is not None and not any(t.has_intent for t in targets.values()):
            # Going back to where the service stood: the request is done when the compensation is.
            await _join(uow, undoing, monitor_id, "cancel", now)
            sub = await self._monitor(uow, ctx, info, undoing, monitor_id, sid, "patch", now, role="cancel")
            return Submitted(sub.monitor, notify + sub.notify, True)
        # Work under way (queued behind, or being undone) orders this write after it, even without a driver.
        force = decision is Decision.QUEUE or undoing is not None or settling
        act_id = await self._plan(uow, ctx, "patch", sid, nodes, edges, targets, policy, monitor_id, now,
                                  force_root=force)
        if new_members:
            fresh = list((await uow.services.get_many([m.id for m in new_members])).values())
            versions = {r.id: r.version for r in fresh}
            for rendered in await render_services(uow, ctx, fresh):
                await emit(uow, ctx, "ServiceCreateEvent", rendered, now, version=versions.get(rendered["id"]))
        sub = await self._monitor(uow, ctx, info, act_id, monitor_id, sid, "patch", now)
        return Submitted(sub.monitor, notify + sub.notify, sub.queued)

    async def _amend(
        self, uow: UnitOfWork, ctx: RequestContext, act: ActivationRow, step: StepRow, before_tail: dict[str, Any],
        predicted: dict[str, Any], me: documents.NewService, requested: str | None, monitor_id: str,
        now: datetime,
    ) -> bool:
        to_state = requested if requested is not None else step.to_state
        if requested is not None:
            self.lifecycle.check(step.from_state, requested)
        changes = step.changes + patching.diff(without_state(predicted), without_state(me.doc))
        target = Target(step.service_id, before_tail, to_state, changes)
        if not await uow.activations.amend_step(
            step.id, to_state=to_state, changes=changes, by_value=step.by_value, action=target.action,
            correlation_id=ctx.correlation_id,
        ):
            return False
        await _join(uow, act.id, monitor_id, "amend", now)
        return True

    # ---- delete ------------------------------------------------------------------------------------------

    async def delete(
        self, uow: UnitOfWork, ctx: RequestContext, info: RequestInfo, row: ServiceRow, policy: str, now: datetime
    ) -> Submitted:
        """Cancel what is in flight, terminate what lives in the network, then remove the record."""
        sid = row.id
        chain = (await _chains(uow, [sid])).get(sid, [])
        _, base = predict(row.doc, chain)
        live = [(a, s) for a, s in chain if not being_undone(a)]
        monitor_id = _new_id()
        notify, undoing = await self._cancel(uow, live, monitor_id, now)
        compensating = undoing is not None or any(being_undone(a) for a, _ in chain)
        targets = {sid: Target(sid, base, "terminated")}
        nodes, edges = await _graph(uow, [sid])
        await self._follow(uow, nodes, targets, "terminated")
        if not compensating and not any(t.action for t in targets.values()):
            for t in targets.values():
                if t.service_id != sid and t.has_intent:
                    await apply_doc(uow, ctx, t.service_id, t.to_be(), now, operation="state")
            await delete_service(uow, ctx, sid, now)
            sub = await self._monitor(uow, ctx, info, None, monitor_id, sid, "delete", now)
            return Submitted(sub.monitor, notify + sub.notify, False)
        act_id = await self._plan(uow, ctx, "delete", sid, nodes, edges, targets, policy, monitor_id, now,
                                  force_root=True, delete_root=True)
        sub = await self._monitor(uow, ctx, info, act_id, monitor_id, sid, "delete", now)
        return Submitted(sub.monitor, notify + sub.notify, sub.queued)

    # ---- shared ------------------------------------------------------------------------------------------

    async def _follow(self, uow: UnitOfWork, nodes: list[str], targets: dict[str, Target], state: str) -> None:
        """Held members reachable through supportingService follow their bundle's state change."""
        others = [n for n in nodes if n not in targets]
        if not others:
            return
        rows = await uow.services.get_many(others, for_update=True)  # services before their activations
        chains = await _chains(uow, others)
        for n in others:
            predicted, _ = predict(rows[n].doc, chains.get(n, []))
            try:
                to_state = intents.member_target(predicted.get("state"), state, self.lifecycle)
            except Conflict as exc:
                raise Conflict(f"supporting service {n!r}: {exc.message}") from exc
            except ValidationFailed as exc:
                raise Conflict(f"supporting service {n!r}: {exc.message}") from exc
            targets[n] = Target(n, predicted, to_state)

    async def _plan(
        self, uow: UnitOfWork, ctx: RequestContext, operation: str, root: str, nodes: list[str],
        edges: list[planning.Edge], targets: dict[str, Target], policy: str, monitor_id: str, now: datetime,
        *, force_root: bool, delete_root: bool = False,
    ) -> str | None:
        """Store an activation for the targets that have an intent; None when everything completed at once."""
        work = {sid for sid, t in targets.items() if t.has_intent or (force_root and sid == root)}
        needs_driver = any(targets[sid].action for sid in work)
        if not needs_driver and not force_root:
            for sid in [n for n in nodes if n in work]:
                await apply_doc(uow, ctx, sid, targets[sid].to_be(), now, operation=operation,
                                by_value=targets[sid].by_value)
            return None
        down = delete_root or intents.is_down(targets[root].action if root in targets else None)
        plan = planning.plan([n for n in nodes if n in targets], work, edges, down=down)
        act_id = _new_id()
        ids = {sid: f"{act_id}.{i}" for i, sid in enumerate(plan.order)}
        steps = [
            NewStep(
                id=ids[sid], position=i, service_id=sid, depends_on=[ids[d] for d in plan.depends_on[sid]],
                from_state=targets[sid].from_state, to_state=targets[sid].to_state,
                changes=targets[sid].changes, by_value=targets[sid].by_value, action=targets[sid].action,
            )
            for i, sid in enumerate(plan.order)
        ]
        await uow.activations.insert(
            id=act_id, root_id=root, operation=operation, policy=policy,
            monitors=[_entry(monitor_id, "request")], delete_root=delete_root, base_url=ctx.base_url,
            correlation_id=ctx.correlation_id, actor=ctx.caller.identity, steps=steps, now=now,
        )
        return act_id

    async def _cancel(
        self, uow: UnitOfWork, live: Chain, by: str, now: datetime
    ) -> tuple[list[str], str | None]:
        """Cancel the unfinished activations in `live`: queued ones at once, running ones by compensation."""
        notify: list[str] = []
        undoing: str | None = None
        for act_id in dict.fromkeys(a.id for a, _ in live):
            act = await uow.activations.get(act_id, for_update=True)
            if act is None or act.status not in UNFINISHED:
                continue
            if act.status == "queued" and await uow.activations.cancel_queued(act.id, by, now):
                fresh = await uow.activations.get(act.id)
                assert fresh is not None
                notify += await progress.publish(uow, fresh, now, final=True)
            elif await uow.activations.request_cancel(act.id, by, now):
                undoing = undoing or act.id
        return notify, undoing

    async def _monitor(
        self, uow: UnitOfWork, ctx: RequestContext, info: RequestInfo, act_id: str | None, monitor_id: str,
        source_id: str, operation: str, now: datetime, *, role: str = "request",
    ) -> Submitted:
        """Create the request's Monitor: tracking `act_id`, or Completed at once when there is none."""
        request = monitor_docs.request_part(info.method, info.to, info.body, info.headers)
        act = await uow.activations.get(act_id) if act_id else None
        if act is None:
            state = (await uow.services.states([source_id])).get(source_id)
            body: dict[str, Any] = {"outcome": "completed", "operation": operation, "policy": None,
                    "service": {"id": source_id, "href": ctx.service_href(source_id), "state": state},
                    "members": []}
            doc = monitor_docs.finished(
                monitor_docs.new_doc(ctx.service_href(source_id), request, body), monitor_docs.completed(operation),
                body,
            )
            rendered = await insert_monitor(uow, ctx, monitor_id, doc, source_id, now)
            return Submitted(rendered, [monitor_id], False)
        steps = await uow.activations.steps(act.id, light=True)
        states = await uow.services.states([act.root_id, *(s.service_id for s in steps)])
        body = progress.summary(progress.context_of(act), act, steps, states, "inProgress")
        doc = monitor_docs.new_doc(ctx.service_href(source_id), request, body)
        rendered = await insert_monitor(uow, ctx, monitor_id, doc, source_id, now)
        return Submitted(rendered, [], True)


def _new_id() -> str:
    return str(uuid.uuid4())


def _requested(doc: dict[str, Any], predicted: dict[str, Any]) -> str | None:
    state = doc.get("state")
    return state if isinstance(state, str) and state != predicted.get("state") else None


async def _join(uow: UnitOfWork, act_id: str, monitor_id: str, role: str, now: datetime) -> None:
    act = await uow.activations.get(act_id, for_update=True)
    assert act is not None
    await uow.activations.set_monitors(act_id, [*act.monitors, _entry(monitor_id, role)], now)


def _entry(monitor_id: str, role: str) -> dict[str, str]:
    """A monitor of an activation, with the id of the HTTP request that asked for it when there is one, so that
    the work's log lines name that request too (resolvers.activation.observe)."""
    request_id = telemetry.current().get("request_id")
    return {"id": monitor_id, "role": role, **({"requestId": request_id} if request_id else {})}


async def _chains(uow: UnitOfWork, ids: list[str]) -> dict[str, Chain]:
    chains: dict[str, Chain] = {}
    for act, step in await uow.activations.unfinished_for(ids, for_update=True):
        chains.setdefault(step.service_id, []).append((act, step))
    return chains


async def _graph(
    uow: UnitOfWork, roots: list[str], override: dict[str, list[Link]] | None = None
) -> tuple[list[str], list[planning.Edge]]:
    """Services reachable from `roots` through supportingService (held here only) and the edges among them.

    `override` gives a service's links as a pending write will leave them, instead of the stored ones.
    """
    override = override or {}
    nodes, seen, frontier = list(roots), set(roots), list(roots)
    while frontier:
        stored = [link for link in await uow.services.links_from(
            [f for f in frontier if f not in override], "supporting")]
        links = stored + [link for f in frontier for link in override.get(f, []) if link.kind == "supporting"]
        held = await uow.services.existing_ids(link.dst_id for link in links)
        frontier = []
        for link in links:
            if link.dst_id in held and link.dst_id not in seen:
                seen.add(link.dst_id)
                nodes.append(link.dst_id)
                frontier.append(link.dst_id)
    stored_all = await uow.services.links_from([n for n in nodes if n not in override])
    every = stored_all + [link for n in nodes for link in override.get(n, [])]
    edges = [planning.Edge(link.src_id, link.dst_id, link.kind, link.relationship_type) for link in every]
    return nodes, edges
