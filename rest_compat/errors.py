"""Every non-2xx answer is a TMF Error body; domain errors map to their HTTP status here, once."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from resolvers.rules.errors import (
    BodyTooLarge,
    Conflict,
    DependencyCycle,
    DomainError,
    InvalidTransition,
    LimitReached,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
    Unauthorised,
    ValidationFailed,
)
from rest_compat.responses import JSONResponse

log = logging.getLogger("tmf640.rest")

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class RestError(Exception):
    """A protocol-level refusal (media type, body size, malformed JSON) raised by the REST layer itself."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The TMF Error body; every value a string. The message may quote client input, so it is made encodable."""
    body = {
        "@type": "Error",
        "code": code,
        "reason": _REASONS.get(status, "Error"),
        "message": message.encode("utf-8", "backslashreplace").decode("utf-8"),
        "status": str(status),
    }
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Unauthorised):
        return 403
    if isinstance(exc, BodyTooLarge):
        return 413
    if isinstance(exc, (InvalidTransition, Conflict, LimitReached)):
        return 409
    if isinstance(exc, PreconditionFailed):
        return 412
    if isinstance(exc, DependencyCycle):
        return 422
    if isinstance(exc, ValidationFailed):
        return 400
    return 400


async def on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(status_of(exc), exc.code, exc.message)


async def on_rest_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RestError)
    return error_response(exc.status, exc.code, exc.message)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path (Starlette's 405 names only the first route's)."""
    scope = {**request.scope, "method": "\x00"}  # a method no route has: every route on the path matches partly
    found: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            found |= set(getattr(route, "methods", None) or ())
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(found, key=lambda m: order.index(m) if m in order else len(order))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, _REASONS.get(exc.status_code, "Error").replace(" ", ""),
                          str(exc.detail), headers=headers)


async def on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected failure", exc_info=exc)
    return error_response(500, "InternalError", "the server failed; the failure is logged")


HANDLERS = {
    DomainError: on_domain_error,
    RestError: on_rest_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
