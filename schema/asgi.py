"""The GraphQL endpoint: Strawberry's ASGI app with this server's context (same resolvers as REST)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.api import Resolvers
from resolvers.context import Caller, RequestContext
from schema.build import Limits, build_schema
from schema.context import GraphQLContext


class BodyTooLarge(Exception):
    pass


class GraphQLApp(GraphQL[GraphQLContext, None]):
    """Serves /graphql (HTTP, and WebSocket once a Subscription root exists). GraphiQL only when asked for.

    Resolvers are read from `app.state.resolvers` per request: the app's lifespan builds them after this
    endpoint is mounted.
    """

    def __init__(
        self, *, limits: Limits, graphiql: bool, public_base_url: str | None, max_body_bytes: int = 1_048_576
    ) -> None:
        super().__init__(build_schema(limits), graphql_ide="graphiql" if graphiql else None)
        self.public_base_url = public_base_url
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's app, with the request body bounded (declared or streamed) like REST bodies are."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        limit, received = self.max_body_bytes, 0
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = JSONResponse(
            {"errors": [{"message": f"the request body is larger than {limit} bytes"}]}, status_code=413
        )
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            await super().__call__(scope, bounded, send)
        except BodyTooLarge:
            await too_large(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GraphQLContext:
        resolvers: Resolvers = request.app.state.resolvers
        base = self.public_base_url or str(request.base_url)
        correlation = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        ctx = RequestContext(caller=Caller(), correlation_id=correlation[:255], base_url=base.rstrip("/"))
        return GraphQLContext(resolvers=resolvers, request_context=ctx, request=request, response=response)

    async def get_root_value(self, request: Any) -> None:
        return None
