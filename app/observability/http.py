"""The outermost ASGI layer: ids for every request, one log line per request, request metrics.

- request id: `X-Request-ID` when the caller (a load balancer) sends one, else generated; echoed in the answer;
- correlation id: `X-Correlation-ID` when sent, else generated and put into the request's headers, so that the
  resolvers (rest_compat.http.context, schema.asgi) thread the same id through revisions and events as the logs;
- both are bound in the log context for everything the request does (resolvers.telemetry);
- one `request` line with method, route template, status and duration; the counters and latency histogram are
  labelled with the route template (`/service/{id}`), never the raw path, so series stay few.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers import telemetry

log = logging.getLogger("tmf640.http")
QUIET = frozenset({"/metrics", "/health/live", "/health/ready", "/health"})  # probes: counted, logged at debug


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1").strip()
            return text[:255] or None
    return None


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    return "unmatched"


class Observed:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        correlation_id = _header(scope, b"x-correlation-id")
        if correlation_id is None:
            correlation_id = str(uuid.uuid4())
            scope = {**scope, "headers": [*scope.get("headers", []), (b"x-correlation-id", correlation_id.encode())]}
        with telemetry.bind(request_id=request_id, correlation_id=correlation_id):
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self._http(scope, receive, send, request_id)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        telemetry.WEBSOCKETS.inc()
        log.info("websocket opened", extra={"path": scope.get("path")})
        try:
            await self.app(scope, receive, send)
        finally:
            telemetry.WEBSOCKETS.dec()
            log.info("websocket closed", extra={"path": scope.get("path")})

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            method, route = scope.get("method", "GET"), route_of(scope)
            telemetry.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            telemetry.HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
            path = scope.get("path", "")
            level = logging.DEBUG if path in QUIET and status < 400 else logging.INFO
            log.log(level, "request", extra={
                "method": method, "path": path, "route": route, "status": status,
                "duration_ms": round(elapsed * 1000, 2), "client": (scope.get("client") or ("", 0))[0]})
