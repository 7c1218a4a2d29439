"""The WebSocket subprotocols' handlers: Strawberry's, with this server's admission control and authentication.

Both protocols (graphql-transport-ws, and the legacy graphql-ws when `TMF640_GRAPHQL_LEGACY_WS` allows it) get
the same checks before an operation starts: the subscribe rate, the byte cap on the document, the cap on
operations per connection. A refused operation gets an `error` message naming the bound (in its protocol's
shape), one log line, and the refusal delay of its address; the connection and its other operations go on.
A connection opened without an `Authorization` header authenticates with its `connection_init` payload
(`{"Authorization": "Bearer <key or token>"}`); credentials that name no one close it with 4401.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage, StartMessage

from resolvers.rules.errors import Unauthenticated
from schema import admission
from schema.admission import AdmissionLimits, RefusalThrottle, SubscribeRate
from schema.context import GraphQLContext
from schema.fanout import SharedRenderingMixin


class Admission:
    """What both handlers check; `_send_error` writes the refusal in the handler's protocol."""

    view: Any
    context: GraphQLContext
    websocket: Any
    max_subscriptions_per_connection: int | None
    rate: SubscribeRate | None = None

    async def _send_error(self, operation_id: str, error: GraphQLError) -> None:
        raise NotImplementedError

    async def _authenticated(self, payload: object) -> bool:
        """The caller named by `connection_init`'s payload when the upgrade carried no credentials; False (the
        connection closed with 4401) when they name no one."""
        context = self.context
        if context.authenticated or context.authenticate is None:
            return True
        given = None
        if isinstance(payload, dict):
            value = payload.get("Authorization", payload.get("authorization"))
            given = value if isinstance(value, str) else None
        try:
            caller = await context.authenticate(given)
        except Unauthenticated:
            await self.websocket.close(code=4401, reason="Unauthorized")
            return False
        context.identify(caller)
        return True

    async def _admitted(self, operation_id: str, payload: object, running: int | None) -> bool:
        """Whether the operation may start; `running`: the operations it would join (None: not counted)."""
        limits: AdmissionLimits = getattr(self.view, "admission", AdmissionLimits())
        document = payload.get("query") if isinstance(payload, dict) else None
        if self.rate is None:
            self.rate = SubscribeRate(limits.subscribe_rate, limits.subscribe_burst)
        if not self.rate.take():
            error = admission.rate_error(limits.subscribe_rate, limits.subscribe_burst)
            await self._refuse(operation_id, error, document)
            return False
        size = admission.oversized(document, limits.max_document_bytes)
        if size is not None:
            await self._refuse(operation_id, admission.too_large(size, limits.max_document_bytes), document)
            return False
        limit = self.max_subscriptions_per_connection
        if limit is not None and running is not None and running >= limit:
            text = (f"Too many operations on this connection: at most {limit} may run at once "
                    "(TMF640_GRAPHQL_MAX_SUBSCRIPTIONS); complete one first")
            await self._refuse(operation_id, GraphQLError(text, extensions={"code": "SubscriptionLimit"}), document)
            return False
        return True

    async def _refuse(self, operation_id: str, error: GraphQLError, document: object) -> None:
        code = (error.extensions or {}).get("code", "Refused")
        client = admission.client_of(self.context.request.scope)
        admission.refused(code, client=client, document=document if isinstance(document, str) else None,
                          transport="websocket")
        throttle: RefusalThrottle | None = getattr(self.view, "throttle", None)
        if throttle is not None:
            await throttle.hold(client)  # this connection's next message waits too
        await self._send_error(operation_id, error)


class TransportWSHandler(Admission, SharedRenderingMixin, BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws. Live subscriptions of the same selection share one rendering per event
    (schema.fanout)."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if await self._authenticated(message.get("payload")):
            await super().handle_connection_init(message)

    async def _send_error(self, operation_id: str, error: GraphQLError) -> None:
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        operation_id = message["id"]
        counted = self.connection_acknowledged and operation_id not in self.operations
        if await self._admitted(operation_id, message.get("payload"), len(self.operations) if counted else None):
            await super().handle_subscribe(message)


class LegacyWSHandler(Admission, BaseGraphQLWSHandler[GraphQLContext, None]):
    """graphql-ws (subscriptions-transport-ws), for older clients; off unless TMF640_GRAPHQL_LEGACY_WS."""

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if await self._authenticated(message.get("payload")):
            await super().handle_connection_init(message)

    async def _send_error(self, operation_id: str, error: GraphQLError) -> None:
        await self.send_message(ErrorMessage(type="error", id=operation_id, payload=error.formatted))

    async def handle_start(self, message: StartMessage) -> None:
        operation_id = message["id"]
        if self.connection_acknowledged:  # (else Strawberry closes the connection: 4401)
            running = len(self.tasks) if operation_id not in self.tasks else None
            if not await self._admitted(operation_id, message.get("payload"), running):
                return
        await super().handle_start(message)
