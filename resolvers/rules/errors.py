"""Expected failures. Each API maps them once: REST to a TMF Error body, GraphQL to a typed result."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller caused or can act on. Never a server fault."""

    code: str = "DomainError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "NotFound"

    def __init__(self, resource: str, id: str) -> None:
        super().__init__(f"{resource} {id!r} does not exist")
        self.resource = resource
        self.id = id


class ValidationFailed(DomainError):
    """Input breaks the published schema or a rule; `path` names the attribute (dotted, with [i])."""

    code = "ValidationFailed"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


class InvalidQuery(ValidationFailed):
    """A filter, sort, fields or paging parameter that cannot be honoured."""

    code = "InvalidQuery"


class InvalidTransition(DomainError):
    code = "InvalidTransition"

    def __init__(self, current: str | None, requested: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"state cannot change from {current!r} to {requested!r}; allowed from {current!r}: {allowed_text}"
        )
        self.current = current
        self.requested = requested
        self.allowed = allowed


class PreconditionFailed(DomainError):
    code = "PreconditionFailed"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"If-Match {expected} does not match the current entity tag {actual}")
        self.expected = expected
        self.actual = actual


class Conflict(DomainError):
    """The request is valid but clashes with the current state of the resource (e.g. a failed JSON Patch test)."""

    code = "Conflict"


class EventStreamInterrupted(DomainError):
    """An event stream ended because the bus failed; resume with `after` = `last_event_id` (nothing is lost)."""

    code = "EventStreamInterrupted"

    def __init__(self, last_event_id: str | None, detail: str) -> None:
        resume = f"; resume with after={last_event_id}" if last_event_id else "; resubscribe to resume"
        super().__init__(f"the event stream was interrupted ({detail}){resume}")
        self.last_event_id = last_event_id
        self.detail = detail


class DependencyCycle(ValidationFailed):
    """Services of one request depend on each other in a circle: refused before any work starts."""

    code = "DependencyCycle"

    def __init__(self, cycle: list[str], path: str = "serviceRelationship") -> None:
        what = "would be members of each other" if path == "supportingService" else "depend on each other"
        super().__init__(path, f"the services {what} in a cycle ({' -> '.join(cycle)}); nothing was started")
        self.cycle = cycle


class LimitReached(DomainError):
    """A per-tenant bound (hub listeners) would be exceeded."""

    code = "LimitReached"


class Unauthorised(DomainError):
    """The caller holds no scope for this operation (403 / FORBIDDEN)."""

    code = "Forbidden"


class Unauthenticated(DomainError):
    """No credentials, or credentials that name no one (401 / UNAUTHENTICATED / WebSocket 4401)."""

    code = "Unauthenticated"


class BodyTooLarge(DomainError):
    """A request body longer than the configured limit (413), refused while it streams in."""

    code = "PayloadTooLarge"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
