"""`createServices`: up to 50 services in one transaction, all or nothing, with a typed error per failed item."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from resolvers.batch import MAX_SERVICES, BatchRefused, create_services
from resolvers.rules.errors import DomainError
from resolvers.rules.json_body import bounded
from schema.convert import from_tmf
from schema.errors import ConflictError, InvalidTransitionError, ValidationError, typed_error
from schema.monitor import monitor_of
from schema.mutation import Info, ServicePayload
from schema.service import Service

ItemErrorReason = Annotated[
    ValidationError | ConflictError | InvalidTransitionError, strawberry.union("CreateServicesItemErrorReason")
]


@strawberry.type(description="Why one item of createServices cannot be created.")
class CreateServicesItemError:
    index: int = strawberry.field(description="Position of the item in `input`, from 0")
    error: ItemErrorReason


@strawberry.type(description="Some items cannot be created, so none was (the request is all or nothing).")
class CreateServicesRefused:
    message: str
    code: str
    items: list[CreateServicesItemError] = strawberry.field(description="Every item that cannot be created")


@strawberry.type(description="Every service of a createServices request, created in one transaction.")
class CreateServicesPayload:
    services: list[ServicePayload] = strawberry.field(description="One per item of `input`, in its order")
    correlation_id: str


CreateServicesResult = Annotated[
    CreateServicesPayload | CreateServicesRefused | ValidationError, strawberry.union("CreateServicesResult")
]


@strawberry.type
class BatchMutation:
    @strawberry.mutation(
        description=f"Create up to {MAX_SERVICES} services (Service_Create each) in one transaction, all or "
        "nothing: when any item cannot be created, none is and `items` says why, per item."
    )
    async def create_services(
        self, info: Info, input: list[JSON], correlation_id: str | None = None
    ) -> CreateServicesResult:
        ctx = info.context.for_write(correlation_id)
        services = info.context.resolvers.services
        try:
            bodies = [bounded(item, f"input[{i}]") for i, item in enumerate(input)]
            results = await create_services(services, ctx, bodies)
        except BatchRefused as refused:
            items = [CreateServicesItemError(index=f.index, error=cast(ItemErrorReason, typed_error(f.error)))
                     for f in refused.failures]
            return CreateServicesRefused(message=refused.message, code=refused.code, items=items)
        except DomainError as exc:
            return cast(CreateServicesResult, typed_error(exc))
        info.context.after_write()
        payloads = [
            ServicePayload(
                service=from_tmf(Service, r.service, etag=r.etag), correlation_id=ctx.correlation_id,
                monitor=monitor_of(r.monitor) if r.monitor is not None else None,
            )
            for r in results
        ]
        return CreateServicesPayload(services=payloads, correlation_id=ctx.correlation_id)
