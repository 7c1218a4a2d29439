"""Mutation root: the same resolvers as REST, with expected failures as typed members of each result union.

`correlationId` (optional on every mutation) threads the change's revision and events; without it the
request's `X-Correlation-ID` header or a generated id is used. `ifMatch` takes a service's `etag`
(a bare version number is accepted too).

Mutations return at once (no bounded wait as REST has): the payload holds the service as the write left it
(with `x-activation` in its document while work is under way) and the `monitor` of that work; a state change
takes effect when a driver succeeds, which the monitor (query `monitor(id:)`) reports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from resolvers.context import RequestContext
from resolvers.rules.errors import DomainError, ValidationFailed
from resolvers.rules.json_body import bounded
from resolvers.rules.patching import Patch
from resolvers.services import ServiceResult
from schema.context import GraphQLContext
from schema.convert import from_tmf
from schema.errors import (
    ConflictError,
    Error,
    InvalidTransitionError,
    NotFoundError,
    PreconditionFailedError,
    ValidationError,
    typed_error,
)
from schema.monitor import Monitor, monitor_of
from schema.policy import POLICY_DOC, ActivationPolicy, policy_value
from schema.service import Service
from schema.service_input import JsonPatchOperationInput, ServiceCreateInput, ServiceUpdateInput, to_tmf

Info = strawberry.Info[GraphQLContext, None]


@strawberry.type(description="A service after a successful write.")
class ServicePayload:
    service: Service
    correlation_id: str = strawberry.field(description="Threads this write's revision and events")
    monitor: Monitor | None = strawberry.field(
        default=None,
        description="The monitor tracking the work this write started (the state moves when it completes); "
        "null when the write changed nothing",
    )


@strawberry.type(description="A service whose removal was accepted: it is terminated, then deleted.")
class DeleteServicePayload:
    deleted_id: strawberry.ID
    correlation_id: str
    monitor: Monitor | None = strawberry.field(
        default=None, description="The monitor tracking the termination and removal"
    )


CreateServiceResult = Annotated[
    ServicePayload | ValidationError | ConflictError, strawberry.union("CreateServiceResult")
]
PatchServiceResult = Annotated[
    ServicePayload | NotFoundError | ValidationError | InvalidTransitionError | PreconditionFailedError
    | ConflictError,
    strawberry.union("PatchServiceResult"),
]
TransitionServiceResult = Annotated[
    ServicePayload | NotFoundError | InvalidTransitionError | ValidationError | PreconditionFailedError
    | ConflictError,
    strawberry.union("TransitionServiceResult"),
]
DeleteServiceResult = Annotated[
    DeleteServicePayload | NotFoundError | PreconditionFailedError | ConflictError,
    strawberry.union("DeleteServiceResult"),
]


def _if_match(value: str | None) -> str | None:
    """The entity tag as the resolvers compare it: a bare version number gets its quotes."""
    if value is not None and value.strip().isdigit():
        return f'"{value.strip()}"'
    return value


async def _write(
    info: Info, correlation_id: str | None, call: Callable[[RequestContext], Awaitable[ServiceResult]]
) -> ServicePayload | Error:
    ctx = info.context.for_write(correlation_id)
    try:
        result = await call(ctx)
    except DomainError as exc:
        return typed_error(exc)
    info.context.after_write()
    service = from_tmf(Service, result.service, etag=result.etag)
    monitor = monitor_of(result.monitor) if result.monitor is not None else None
    return ServicePayload(service=service, correlation_id=ctx.correlation_id, monitor=monitor)


def _verb(name: str, description: str) -> Any:
    async def transition(
        info: Info,
        id: strawberry.ID,
        if_match: str | None = None,
        correlation_id: str | None = None,
        policy: Annotated[ActivationPolicy | None, strawberry.argument(description=POLICY_DOC)] = None,
    ) -> TransitionServiceResult:
        transitions, tag, chosen = info.context.resolvers.transitions, _if_match(if_match), policy_value(policy)
        result = await _write(
            info, correlation_id, lambda ctx: transitions.apply(ctx, str(id), name, tag, policy=chosen)
        )
        return cast(TransitionServiceResult, result)

    return strawberry.mutation(resolver=transition, description=description)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a service (Service_Create): typed as `service`, or as a raw TMF document `input` "
        "(give exactly one). Supporting services given by value are created with it, in one transaction; "
        "references are linked."
    )
    async def create_service(
        self,
        info: Info,
        service: ServiceCreateInput | None = None,
        input: Annotated[JSON | None, strawberry.argument(description="The raw TMF document")] = None,
        correlation_id: str | None = None,
        policy: Annotated[ActivationPolicy | None, strawberry.argument(description=POLICY_DOC)] = None,
    ) -> CreateServiceResult:
        services, chosen = info.context.resolvers.services, policy_value(policy)
        if (service is None) == (input is None):
            wrong = ValidationFailed("", "give exactly one of service and input")
            return cast(CreateServiceResult, typed_error(wrong))

        def document() -> Any:
            return to_tmf(service) if service is not None else bounded(input, "input")

        result = await _write(info, correlation_id, lambda ctx: services.create(ctx, document(), policy=chosen))
        return cast(CreateServiceResult, result)

    @strawberry.mutation(
        description="Change a service with a JSON Merge Patch (RFC 7396: typed as `update`, or raw as `mergePatch`) "
        "or a JSON Patch (RFC 6902: typed as `operations`, or raw as `jsonPatch`): give exactly one. A state "
        "change follows the lifecycle rules."
    )
    async def patch_service(
        self,
        info: Info,
        id: strawberry.ID,
        update: ServiceUpdateInput | None = None,
        operations: list[JsonPatchOperationInput] | None = None,
        merge_patch: JSON | None = None,
        json_patch: JSON | None = None,
        if_match: str | None = None,
        correlation_id: str | None = None,
        policy: Annotated[ActivationPolicy | None, strawberry.argument(description=POLICY_DOC)] = None,
    ) -> PatchServiceResult:
        given = [v for v in (update, operations, merge_patch, json_patch) if v is not None]
        if len(given) != 1:
            wrong = ValidationFailed("", "give exactly one of update, operations, mergePatch and jsonPatch")
            return cast(PatchServiceResult, typed_error(wrong))
        services, tag, chosen = info.context.resolvers.services, _if_match(if_match), policy_value(policy)

        def patch() -> Patch:
            if update is not None:
                return Patch("merge", to_tmf(update))
            if operations is not None:
                return Patch("json", [op.tmf() for op in operations])
            if merge_patch is not None:
                return Patch("merge", bounded(merge_patch, "mergePatch"))
            return Patch("json", bounded(json_patch, "jsonPatch"))

        result = await _write(
            info, correlation_id, lambda ctx: services.patch(ctx, str(id), patch(), tag, policy=chosen)
        )
        return cast(PatchServiceResult, result)

    @strawberry.mutation(description="Delete a service; members it created by value stay, as services of their own")
    async def delete_service(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: str | None = None,
        correlation_id: str | None = None,
        policy: Annotated[ActivationPolicy | None, strawberry.argument(description=POLICY_DOC)] = None,
    ) -> DeleteServiceResult:
        ctx = info.context.for_write(correlation_id)
        try:
            result = await info.context.resolvers.services.delete(
                ctx, str(id), _if_match(if_match), policy=policy_value(policy)
            )
        except DomainError as exc:
            return cast(DeleteServiceResult, typed_error(exc))
        info.context.after_write()
        monitor = monitor_of(result.monitor) if result.monitor is not None else None
        return DeleteServicePayload(deleted_id=id, correlation_id=ctx.correlation_id, monitor=monitor)

    activate_service = _verb("activate", "Move a service to active (lifecycle rules apply)")
    suspend_service = _verb("suspend", "Move an active service to inactive")
    resume_service = _verb("resume", "Move an inactive service back to active")
    terminate_service = _verb("terminate", "Move a service to terminated (nothing leaves terminated)")
