"""Many services in one request: `createServices` (GraphQL). Up to MAX_SERVICES Service_Create documents are
created in one transaction, all or nothing: each is checked and planned as a single create is (`Services.create`),
and when any of them cannot be created none is, and every failure is reported with the position of its item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from resolvers.context import RequestContext
from resolvers.rendering import render_services
from resolvers.rules import documents
from resolvers.rules.errors import Conflict, DomainError, ValidationFailed
from resolvers.services import ServiceResult, Services, _check_writer, etag

MAX_SERVICES = 50


@dataclass(frozen=True)
class ItemFailure:
    """Why the item at `index` (from 0) of the request cannot be created."""

    index: int
    error: DomainError


class BatchRefused(DomainError):
    """Some items cannot be created, so none was."""

    code = "BatchRefused"

    def __init__(self, failures: list[ItemFailure], total: int) -> None:
        failures = sorted(failures, key=lambda f: f.index)
        super().__init__(f"{len(failures)} of the {total} services cannot be created; none was")
        self.failures = failures


def _plans(services: Services, bodies: list[Any]) -> list[list[documents.NewService]]:
    plans: list[list[documents.NewService]] = []
    failures: list[ItemFailure] = []
    owners: dict[str, int] = {}
    for index, body in enumerate(bodies):
        try:
            services.check_create(body)
            plan = services.plan_create(body)
        except DomainError as exc:
            failures.append(ItemFailure(index, exc))
            plans.append([])
            continue
        for s in plan:
            if s.id in owners:
                where = "twice in this item" if owners[s.id] == index else f"in item {owners[s.id]} too"
                failures.append(ItemFailure(index, ValidationFailed("id", f"service id {s.id!r} is named {where}")))
                break
            owners[s.id] = index
        plans.append(plan)
    if failures:
        raise BatchRefused(failures, len(bodies))
    return plans


async def create_services(
    services: Services, ctx: RequestContext, bodies: list[Any], *, policy: str | None = None
) -> list[ServiceResult]:
    """Create every service of `bodies` in one transaction, or none (BatchRefused lists what is wrong)."""
    _check_writer(ctx)
    if not bodies or len(bodies) > MAX_SERVICES:
        raise ValidationFailed("input", f"give from 1 to {MAX_SERVICES} services; got {len(bodies)}")
    intake = services.engine.intake
    chosen = intake.policy(policy)
    plans = _plans(services, bodies)
    now = datetime.now(UTC)
    results: list[ServiceResult] = []
    submitted = []
    async with services.store.write(ctx.caller.scope) as uow:
        taken = await uow.services.existing_ids(s.id for plan in plans for s in plan)
        clashes = [
            ItemFailure(i, Conflict(f"a service with id {sorted(taken & {s.id for s in plan})[0]!r} already exists"))
            for i, plan in enumerate(plans) if taken & {s.id for s in plan}
        ]
        if clashes:
            raise BatchRefused(clashes, len(bodies))
        for index, (body, plan) in enumerate(zip(bodies, plans, strict=True)):
            try:
                sub = await intake.create(uow, ctx, services.create_info(ctx, body, chosen), plan, chosen, now)
            except DomainError as exc:  # the transaction rolls back: nothing of the request stays
                raise BatchRefused([ItemFailure(index, exc)], len(bodies)) from exc
            submitted.append(sub)
        rows = await uow.services.get_many(plan[0].id for plan in plans)
        rendered = {r["id"]: r for r in await render_services(uow, ctx, list(rows.values()))}
        for plan, sub in zip(plans, submitted, strict=True):
            root = plan[0].id
            results.append(ServiceResult(rendered[root], etag(rows[root].version), sub.monitor))
    for sub in submitted:
        services.engine.submitted(sub)
    return results
