"""Operator actions on held work (docs/activation.md, "Held work"): retry, abort, resolve by hand.

`OperatorMutation` is merged into the Mutation root by schema/build.py. Each action is recorded on the monitor
(`operatorActions`: who, what, why) and announced by a MonitorAttributeValueChangeEvent (or StateChange).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

import strawberry

from resolvers.context import RequestContext
from resolvers.rules.errors import DomainError
from schema.context import GraphQLContext
from schema.errors import ConflictError, Error, NotFoundError, ValidationError, typed_error
from schema.monitor import Monitor, monitor_of

Info = strawberry.Info[GraphQLContext, None]


@strawberry.type(description="The monitor after an operator's action on its held work.")
class OperatorActionPayload:
    monitor: Monitor
    correlation_id: str


OperatorActionResult = Annotated[
    OperatorActionPayload | NotFoundError | ConflictError | ValidationError,
    strawberry.union("OperatorActionResult"),
]


async def _act(
    info: Info, correlation_id: str | None, call: Callable[[RequestContext], Awaitable[dict[str, Any]]]
) -> OperatorActionResult:
    ctx = info.context.for_write(correlation_id)
    try:
        monitor = await call(ctx)
    except DomainError as exc:
        return cast(OperatorActionResult, typed_error(exc))
    info.context.after_write()
    result: OperatorActionPayload | Error = OperatorActionPayload(monitor=monitor_of(monitor),
                                                                  correlation_id=ctx.correlation_id)
    return cast(OperatorActionResult, result)


@strawberry.type
class OperatorMutation:
    @strawberry.mutation(description="Retry held work from where it stopped (in-doubt steps are sent again under "
                         "their ids; a failed compensation is tried again)")
    async def retry_activation(
        self, info: Info, monitor_id: strawberry.ID, reason: str, by: str | None = None,
        correlation_id: str | None = None,
    ) -> OperatorActionResult:
        op = info.context.resolvers.engine.operator
        return await _act(info, correlation_id, lambda ctx: op.retry(ctx, str(monitor_id), reason, by))

    @strawberry.mutation(description="Abort held work: compensate what succeeded, then finish InError")
    async def abort_activation(
        self, info: Info, monitor_id: strawberry.ID, reason: str, by: str | None = None,
        correlation_id: str | None = None,
    ) -> OperatorActionResult:
        op = info.context.resolvers.engine.operator
        return await _act(info, correlation_id, lambda ctx: op.abort(ctx, str(monitor_id), reason, by))

    @strawberry.mutation(description="Record the outcome of held work put right by hand (state: Completed or "
                         "InError): no more driver calls; open steps are marked resolved by hand")
    async def resolve_activation(
        self, info: Info, monitor_id: strawberry.ID, state: str, reason: str, by: str | None = None,
        correlation_id: str | None = None,
    ) -> OperatorActionResult:
        op = info.context.resolvers.engine.operator
        return await _act(info, correlation_id, lambda ctx: op.resolve(ctx, str(monitor_id), state, reason, by))
