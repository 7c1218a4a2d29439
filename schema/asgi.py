"""The GraphQL endpoint: Strawberry's ASGI app with this server's context (same resolvers as REST)."""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from resolvers.api import edge_of
from resolvers.rules import json_body, json_text
from resolvers.rules.errors import BodyTooLarge, ValidationFailed
from schema import admission
from schema.admission import AdmissionLimits, RefusalThrottle
from schema.build import Limits, build_schema
from schema.context import GraphQLContext
from schema.ws_handlers import LegacyWSHandler, TransportWSHandler

# A TMF document may nest MAX_DEPTH levels, as on REST; the GraphQL envelope adds a few around it
# ({"variables": {"patch": [{"value": ...}]}}).
ENVELOPE_DEPTH = 4
_CLIENT: ContextVar[str | None] = ContextVar("tmf640_graphql_client", default=None)  # of the HTTP request


class Refused(Exception):
    """A request body refused before any GraphQL runs; answered as {"errors": [{"message"}]} with `status`."""

    def __init__(self, status: int, message: str, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.extensions = status, message, extensions

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.extensions:
            error["extensions"] = self.extensions
        return {"errors": [error]}


@dataclass(frozen=True)
class WebSocketLimits:
    """Subscriptions over WebSocket. The defaults match app.settings.Settings.

    graphql-transport-ws only unless `legacy_protocol`; a client that sends no `connection_init` within
    `connection_init_timeout` seconds is closed (4408); a connection runs at most `max_subscriptions`
    operations at once, one more is answered with an error message naming the limit. Keep-alive is the
    server's WebSocket ping frames (uvicorn's ws_ping_interval): a client gone silent is closed and its
    subscriptions end, each leaving the bus.
    """

    max_subscriptions: int = 20
    connection_init_timeout: float = 10.0
    legacy_protocol: bool = False


class GraphQLApp(GraphQL[GraphQLContext, None]):
    """Serves /graphql over HTTP and WebSocket (subscriptions). GraphiQL only when asked for: the page given as
    `graphiql_html` (the server's own, whose assets it serves itself), never Strawberry's page that loads a CDN.

    The caller, correlation id, base URL and resolvers come from the request edge (app.edge), which also
    bounds the body; a body cut off there is answered 413 here, in GraphQL's error shape.
    """

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        *,
        limits: Limits,
        graphiql: bool,
        graphiql_html: str | None = None,
        websocket: WebSocketLimits | None = None,
        admission_limits: AdmissionLimits | None = None,
    ) -> None:
        ws = websocket or WebSocketLimits()
        self.admission = admission_limits or AdmissionLimits()
        self.throttle = RefusalThrottle(self.admission.refusal_delay)
        protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL) if ws.legacy_protocol else (
            GRAPHQL_TRANSPORT_WS_PROTOCOL,
        )
        super().__init__(
            build_schema(limits),
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=ws.connection_init_timeout),
            max_subscriptions_per_connection=ws.max_subscriptions,
            keep_alive=ws.legacy_protocol,  # graphql-ws "ka" messages; graphql-transport-ws has ping/pong
        )
        self.graphiql_html = graphiql_html

    def encode_json(self, data: object) -> str:
        """Answers and WebSocket messages, written as REST's are (resolvers.rules.json_text). Text, not bytes:
        Strawberry sends bytes over a WebSocket as a binary frame, which graphql-transport-ws clients refuse."""
        return json_text.dumps(data).decode()

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.graphiql_html is None:
            return Response("GraphiQL is not served here", status_code=404)
        return HTMLResponse(self.graphiql_html)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's app, with refused bodies (too large, not JSON) answered 4xx."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        client = admission.client_of(scope)
        _CLIENT.set(client)
        try:
            try:
                await super().__call__(scope, receive, send)
            except BodyTooLarge as exc:
                raise Refused(413, exc.message) from exc
        except Refused as exc:
            await self.throttle.hold(client)
            await JSONResponse(exc.body(), status_code=exc.status)(scope, receive, send)

    async def parse_http_body(self, request: Any) -> Any:
        """Strawberry's reading of the body, then the byte cap on each document, before anything parses it."""
        data = await super().parse_http_body(request)
        limit = self.admission.max_document_bytes
        for item in data if isinstance(data, list) else [data]:
            size = admission.oversized(item.query, limit)
            if size is not None:
                error = admission.too_large(size, limit)
                admission.refused("DocumentTooLarge", client=_CLIENT.get(), document=item.query,
                                  transport="http")
                raise Refused(413, error.message, error.extensions)
        return data

    def decode_json(self, data: str | bytes) -> object:
        """JSON read by the same rules as REST bodies (finite numbers, bounded nesting).

        A refusal is a JSONDecodeError, which Strawberry's WebSocket transports treat as a bad message.
        """
        try:
            value = json_body.loads(data, json_body.MAX_DEPTH + ENVELOPE_DEPTH)
        except ValidationFailed as exc:
            raise json.JSONDecodeError(exc.message, data if isinstance(data, str) else "", 0) from exc
        try:  # "\ud800" is valid JSON but not text: no id, filter or document can hold it
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise json.JSONDecodeError("the body contains a lone surrogate (\\ud800-\\udfff)", "", 0) from exc
        return value

    def parse_json(self, data: str | bytes) -> object:
        """An HTTP body or query parameter: a refusal is a 400 that says why."""
        try:
            return self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise Refused(400, exc.msg) from exc

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GraphQLContext:
        edge = edge_of(request.scope.get("state", {}))
        return GraphQLContext(resolvers=edge.resolvers, request_context=edge.context, request=request,
                              response=response, authenticated=edge.authenticated, authenticate=edge.authenticate)

    async def get_root_value(self, request: Any) -> None:
        return None
