"""Hub listeners in GraphQL: the same `Hubs` resolver as REST `POST /hub`, `DELETE /hub/{id}` and ours.

`HubQuery` and `HubMutation` are merged into the Query and Mutation roots by schema/build.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry

from resolvers.hubs import status
from resolvers.rules.errors import DomainError
from schema.context import GraphQLContext
from schema.convert import instant
from schema.errors import NotFoundError, ValidationError, query_error, typed_error
from schema.node import Node

Info = strawberry.Info[GraphQLContext, None]


@strawberry.type(description="One delivery attempt of one event to a hub listener.")
class HubDelivery:
    id: strawberry.ID
    seq: int = strawberry.field(description="The event's position in the outbox (commit order)")
    event_id: str
    event_type: str
    attempt: int = strawberry.field(description="1 for the first attempt of this event, then 2, 3...")
    at: datetime | None = strawberry.field(description="When the attempt started")
    delivered: bool = strawberry.field(description="True when the listener answered 2xx")
    status_code: int | None = strawberry.field(description="The listener's HTTP status, when it answered")
    error: str | None = strawberry.field(description="Why the attempt failed, when it did")
    duration_ms: float


@strawberry.type(description="A page of delivery attempts, newest first.")
class HubDeliveryPage:
    total_count: int
    nodes: list[HubDelivery]


@strawberry.type(description="A hub listener (TMF EventSubscription) and where delivery to it stands.")
class Hub(Node):
    id: strawberry.ID
    callback: str
    query: str | None = strawberry.field(description="REST filter syntax applied to each event; null: every event")
    href: str
    state: str = strawberry.field(description="active, or failing (given up on; resumeHub restarts it)")
    signed: bool = strawberry.field(description="Whether deliveries carry X-TMF640-Signature (secret not shown)")
    created_at: datetime | None
    delivered_up_to_seq: int = strawberry.field(description="Outbox seq of the last event delivered (or skipped)")
    failed_attempts: int = strawberry.field(description="Failed attempts on the current event")
    first_failure_at: datetime | None
    next_attempt_at: datetime | None
    failed_at: datetime | None = strawberry.field(description="When the listener was marked failing")
    last_error: str | None

    def node_key(self) -> str:
        return str(self.id)

    @strawberry.field(description="Every recorded delivery attempt, newest first")
    async def deliveries(self, info: Info, offset: int = 0, limit: int | None = None) -> HubDeliveryPage:
        hubs, ctx = info.context.resolvers.hubs, info.context.request_context
        try:
            page = await hubs.deliveries(ctx, str(self.id), offset, limit)
        except DomainError as exc:
            raise query_error(exc) from exc
        return HubDeliveryPage(total_count=page.total, nodes=[_delivery(d) for d in page.items])


@strawberry.type(description="A page of hub listeners, oldest first.")
class HubPage:
    total_count: int
    nodes: list[Hub]


@strawberry.type(description="A hub listener after a successful registration or resume.")
class HubPayload:
    hub: Hub


@strawberry.type(description="An unregistered hub listener.")
class UnregisterHubPayload:
    deleted_id: strawberry.ID


RegisterHubResult = Annotated[HubPayload | ValidationError, strawberry.union("RegisterHubResult")]
UnregisterHubResult = Annotated[UnregisterHubPayload | NotFoundError, strawberry.union("UnregisterHubResult")]
ResumeHubResult = Annotated[HubPayload | NotFoundError, strawberry.union("ResumeHubResult")]


def _delivery(item: dict[str, Any]) -> HubDelivery:
    return HubDelivery(
        id=strawberry.ID(item["id"]), seq=item["seq"], event_id=item["eventId"], event_type=item["eventType"],
        attempt=item["attempt"], at=instant(item["at"]), delivered=item["delivered"], status_code=item["statusCode"],
        error=item["error"], duration_ms=item["durationMs"],
    )


def _hub(info: Info, row: Any) -> Hub:  # a store.hubs.HubRow, as resolvers.hubs returns it
    s = status(info.context.request_context, row)
    return Hub(
        id=strawberry.ID(s["id"]), callback=s["callback"], query=s.get("query"), href=s["href"], state=s["state"],
        signed=s["signed"], created_at=instant(s["createdAt"]), delivered_up_to_seq=s["deliveredUpToSeq"],
        failed_attempts=s["failedAttempts"], first_failure_at=instant(s["firstFailureAt"]),
        next_attempt_at=instant(s["nextAttemptAt"]), failed_at=instant(s["failedAt"]), last_error=s["lastError"],
    )


async def hub_of(info: Info, id: str) -> Hub | None:
    """The listener `id`, or None when none is registered."""
    try:
        return _hub(info, await info.context.resolvers.hubs.get(info.context.request_context, id))
    except DomainError:  # NotFound, the only one get raises
        return None


@strawberry.type
class HubQuery:
    @strawberry.field(description="Registered hub listeners, oldest first")
    async def hubs(self, info: Info, offset: int = 0, limit: int | None = None) -> HubPage:
        hubs, ctx = info.context.resolvers.hubs, info.context.request_context
        try:
            rows, total = await hubs.search(ctx, offset, limit)
        except DomainError as exc:
            raise query_error(exc) from exc
        return HubPage(total_count=total, nodes=[_hub(info, r) for r in rows])

    @strawberry.field(description="The hub listener with this id, or null when none is registered")
    async def hub(self, info: Info, id: strawberry.ID) -> Hub | None:
        return await hub_of(info, str(id))


@strawberry.type
class HubMutation:
    @strawberry.mutation(
        description="Register a listener (TMF POST /hub): every event committed from now on that matches `query` "
        "(REST filter syntax on the event) is POSTed to `callback`, signed with `secret` when given."
    )
    async def register_hub(
        self, info: Info, callback: str, query: str | None = None, secret: str | None = None
    ) -> RegisterHubResult:
        hubs, ctx = info.context.resolvers.hubs, info.context.request_context
        try:
            row = await hubs.register(ctx, callback, query, secret)
        except DomainError as exc:
            return cast(RegisterHubResult, typed_error(exc))
        return HubPayload(hub=_hub(info, row))

    @strawberry.mutation(description="Unregister a listener (TMF DELETE /hub/{id}); nothing more is sent to it")
    async def unregister_hub(self, info: Info, id: strawberry.ID) -> UnregisterHubResult:
        hubs, ctx = info.context.resolvers.hubs, info.context.request_context
        try:
            await hubs.unregister(ctx, str(id))
        except DomainError as exc:
            return cast(UnregisterHubResult, typed_error(exc))
        return UnregisterHubPayload(deleted_id=id)

    @strawberry.mutation(description="Deliver to a failing listener again, from the event where it stopped")
    async def resume_hub(self, info: Info, id: strawberry.ID) -> ResumeHubResult:
        hubs, ctx = info.context.resolvers.hubs, info.context.request_context
        try:
            row = await hubs.resume(ctx, str(id))
        except DomainError as exc:
            return cast(ResumeHubResult, typed_error(exc))
        return HubPayload(hub=_hub(info, row))
