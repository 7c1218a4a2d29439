"""The request edge: one ASGI middleware in front of REST and GraphQL (HTTP and WebSocket).

For every request it builds, once, what both APIs read (resolvers.context.RequestEdge in the scope's state):

- the caller (app.auth): identity, tenant and scopes, or a refusal: 401 with `WWW-Authenticate` (a TMF
  Error on REST, `UNAUTHENTICATED` on GraphQL); a WebSocket without an `Authorization` header presents its
  credentials in `connection_init` instead (schema.asgi closes it 4401 when they name no one);
- the scope a REST path needs (`required_scope`): a caller without it gets 403 `Forbidden` here; GraphQL
  operations are checked per root field by schema.access;
- the correlation id (`X-Correlation-Id`, else a new one) and the public base URL of hrefs;
- the body limit (`max_body_bytes`): a declared length above it is refused at once, a streamed body is
  cut off when it passes it (`BodyTooLarge`, answered 413 by each API in its own error shape).
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import Authenticator
from resolvers.api import EDGE_KEY, RequestEdge, Resolvers
from resolvers.context import ADMIN, READ, WRITE, Caller, RequestContext
from resolvers.rules.errors import BodyTooLarge, Unauthenticated
from rest_compat.errors import error_response

GRAPHQL_PATH = "/graphql"
METRICS_PATH = "/metrics"
# Paths anyone may call: probes and pages that show nothing of any tenant. Everything else needs credentials
# (fail closed): a new unauthenticated endpoint (metrics, a static console page) must be named here.
# The console, GraphiQL and Swagger UI pages and their assets hold no data: the API calls they make carry the
# user's credentials (the console asks for an API key) and are checked like any other.
PUBLIC_PREFIXES = ("/health", "/console", "/web/", "/swagger")
PUBLIC_DOCUMENTS = ("/swagger.json", "/api-docs")  # the published TMF640 document, under each API prefix
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(path: str) -> bool:
    """Whether anyone may load `path`: probes, pages and their assets, the published TMF640 document."""
    return path.startswith(PUBLIC_PREFIXES) or path.split("/v4", 1)[-1].rstrip("/") in PUBLIC_DOCUMENTS


def required_scope(method: str, path: str) -> str | None:
    """The scope a REST call needs: hub paths are admin's, reads need `read`, other methods `write`.

    None: public (health probes) or GraphQL, which checks each operation (schema.access).
    """
    if public(path) or path == GRAPHQL_PATH:
        return None
    if path == METRICS_PATH:  # every tenant's figures (hub listener ids among them): the operator's
        return ADMIN
    rest = path.split("/v4", 1)[-1]
    if rest == "/hub" or rest.startswith("/hub/"):
        return ADMIN
    return READ if method.upper() in READ_METHODS else WRITE


# A read emits no event, so its correlation id only needs to be unique: a process prefix and a counter, without
# the random bytes of a uuid4 on every GET (docs/performance.md).
_READ_PREFIX = f"read-{os.getpid():x}-{uuid.uuid4().hex[:8]}-"
_READS = itertools.count(1)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _correlation(scope: Scope) -> str:
    if scope["type"] == "http" and scope.get("method") in _SAFE:
        return f"{_READ_PREFIX}{next(_READS)}"
    return str(uuid.uuid4())


@dataclass(frozen=True)
class EdgeConfig:
    public_base_url: str | None
    max_body_bytes: int


class RequestEdgeMiddleware:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, config: EdgeConfig) -> None:
        self.app = app
        self.auth = authenticator
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        path = scope["path"]
        graphql = path == GRAPHQL_PATH
        authorization = conn.headers.get("authorization")
        authenticated = True
        try:
            caller = await self.auth.authenticate(authorization)
        except Unauthenticated as exc:
            if public(path):
                caller = Caller(identity="anonymous", scopes=frozenset())
            elif scope["type"] == "websocket" and authorization is None:
                caller, authenticated = Caller(identity="pending", scopes=frozenset()), False
            elif scope["type"] == "websocket":
                await _close_unauthorised(scope, receive, send)
                return
            else:
                await _unauthenticated(exc.message, graphql)(scope, receive, send)
                return
        needed = required_scope(scope.get("method", "GET"), path) if scope["type"] == "http" else None
        if needed is not None and not caller.may(needed):
            message = f"this call needs the {needed!r} scope"
            await error_response(403, "Forbidden", message)(scope, receive, send)
            return
        resolvers: Resolvers | None = getattr(scope["app"].state, "resolvers", None) if "app" in scope else None
        if resolvers is None:  # before the lifespan started
            await self.app(scope, receive, send)
            return
        base = self.config.public_base_url or str(conn.base_url)
        if base.startswith("ws"):  # a WebSocket's scope says ws/wss; hrefs name the HTTP resources
            base = "http" + base[2:]
        correlation = conn.headers.get("x-correlation-id") or _correlation(scope)
        context = RequestContext(caller=caller, correlation_id=correlation[:255], base_url=base.rstrip("/"))
        scope.setdefault("state", {})[EDGE_KEY] = RequestEdge(
            context=context, resolvers=resolvers, authenticate=self.auth.authenticate, authenticated=authenticated)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._bounded(scope, receive, send, graphql)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, graphql: bool) -> None:
        limit, received = self.config.max_body_bytes, 0
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(str(BodyTooLarge(limit)), graphql)(scope, receive, send)
            return

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded, send)


def _challenge(message: str) -> dict[str, str]:
    text = message.replace('"', "'")
    return {"WWW-Authenticate": f'Bearer realm="tmf640", error="invalid_token", error_description="{text}"'}


def _unauthenticated(message: str, graphql: bool) -> Response:
    if graphql:
        body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
        return JSONResponse(body, status_code=401, headers=_challenge(message))
    return error_response(401, "Unauthenticated", message, headers=_challenge(message))


def _too_large(message: str, graphql: bool) -> Response:
    if graphql:
        return JSONResponse({"errors": [{"message": message}]}, status_code=413)
    return error_response(413, "PayloadTooLarge", message)


async def _close_unauthorised(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, then close 4401: a code the client sees (a refusal before accepting is a bare HTTP 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    offered = list(scope.get("subprotocols") or [])
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
    await send({"type": "websocket.close", "code": 4401, "reason": "Unauthorized"})

