"""Expected failures as typed results (members of each mutation's result union), and masking of the rest.

A mutation answers with its payload or with one of these types; a client selects `... on Error { message }`
or a specific type for its details. Anything else that goes wrong is a server fault: logged whole, and shown
to the client as "Unexpected error." (MaskErrors). Query-side mistakes (a bad filter, cursor or depth) are
GraphQL errors carrying `extensions.code` and, where one applies, `extensions.path`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from resolvers.rules.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from schema.tmf import ServiceStateType


@strawberry.interface(description="An expected failure the caller can act on.")
class Error:
    message: str = strawberry.field(description="What went wrong, for a person to read")
    code: str = strawberry.field(description="Stable machine-readable code, e.g. NotFound, ValidationFailed")


@strawberry.type(description="The resource does not exist (or no longer does).")
class NotFoundError(Error):
    resource: str
    id: strawberry.ID


@strawberry.type(description="The lifecycle does not allow the requested state change.")
class InvalidTransitionError(Error):
    current: ServiceStateType | None = strawberry.field(description="The state the service is in")
    requested: ServiceStateType | None = strawberry.field(description="The state the request asked for")
    allowed: list[ServiceStateType] = strawberry.field(description="States the service may move to from current")


@strawberry.type(description="The input breaks the TMF640 schema or a rule.")
class ValidationError(Error):
    path: str | None = strawberry.field(
        description="The attribute at fault, dotted with [index] (e.g. supportingService[0].state); null when "
        "the input as a whole is at fault"
    )


@strawberry.type(description="ifMatch does not match the service's current etag: someone changed it since.")
class PreconditionFailedError(Error):
    expected: str
    actual: str


@strawberry.type(description="The request clashes with the current state of the data (e.g. an id already taken).")
class ConflictError(Error):
    pass


ERROR_TYPES: tuple[type[Error], ...] = (
    NotFoundError,
    InvalidTransitionError,
    ValidationError,
    PreconditionFailedError,
    ConflictError,
)


def _state(value: str | None) -> ServiceStateType | None:
    try:
        return ServiceStateType(value)
    except ValueError:
        return None


def typed_error(exc: DomainError) -> Error:
    """The typed result for an expected failure."""
    if isinstance(exc, NotFound):
        return NotFoundError(message=exc.message, code=exc.code, resource=exc.resource, id=strawberry.ID(exc.id))
    if isinstance(exc, InvalidTransition):
        allowed = [s for s in (_state(a) for a in exc.allowed) if s is not None]
        return InvalidTransitionError(
            message=exc.message, code=exc.code, current=_state(exc.current), requested=_state(exc.requested),
            allowed=allowed,
        )
    if isinstance(exc, ValidationFailed):
        return ValidationError(message=exc.message, code=exc.code, path=exc.path or None)
    if isinstance(exc, PreconditionFailed):
        return PreconditionFailedError(message=exc.message, code=exc.code, expected=exc.expected, actual=exc.actual)
    if isinstance(exc, Conflict):
        return ConflictError(message=exc.message, code=exc.code)
    raise exc  # a DomainError without a typed result is a programming error: masked and logged


def query_error(exc: DomainError) -> GraphQLError:
    """A query-side mistake as a GraphQL error the client sees (never masked)."""
    extensions: dict[str, Any] = {"code": exc.code}
    if isinstance(exc, ValidationFailed) and exc.path:
        extensions["path"] = exc.path
    return GraphQLError(exc.message, extensions=extensions)


def should_mask(error: GraphQLError) -> bool:
    """Mask server faults only: errors raised by resolvers that are not deliberate GraphQL errors.

    Parse and validation errors (syntax, depth, aliases, tokens) carry no original error; query mistakes are
    raised as GraphQLError on purpose. Everything else hides its message.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
