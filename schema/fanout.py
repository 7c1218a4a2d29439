"""Subscriptions over graphql-transport-ws rendered once per event for every subscriber of the same selection.

Thousands of browser tabs watch the same things with the same document. Running GraphQL once per subscriber for
every event costs CPU in proportion to the audience, so subscriptions that are the same selection share one
rendering: the same document, operation and variables, asked by the same caller (identity, tenant, scopes) at the
same public base URL. The first subscriber starts a `Rendering` (one stream over the feed, one bus subscription,
GraphQL run once per event, the result encoded to JSON once); later ones join it, each receiving from then on.
Each subscriber gets the encoded result in a `next` message of its own id.

What is shared: a live subscription (no `after`, or `after: null`). One that resumes `after` an event replays its
own history, so it runs alone, as does anything that is not a plain subscription document (Strawberry then
answers it as usual). An argument error (unknown `treeOf`, `after` or event type) is found when the rendering
starts: every subscriber of it gets the same `error` message.

Slow consumers: each subscriber has a bounded queue of `SUBSCRIBER_QUEUE` encoded events. One that falls that far
behind (its socket does not drain) is let go of by the rendering, never waited for; it first receives what its
queue holds, then resumes on its own (GraphQL run for it alone) `after` the last event it was sent, from the
outbox and then live (resolvers.feed): it loses nothing and delays nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    NameNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
    print_ast,
)
from prometheus_client import Counter, Gauge
from strawberry.types.execution import ExecutionResult, PreExecutionError

from resolvers.rules import json_text
from resolvers.telemetry import REGISTRY
from schema.subscription import POSITION

log = logging.getLogger("tmf640.subscriptions")

SUBSCRIBER_QUEUE = 100  # encoded events a subscriber may fall behind before it is let go of (then resumes alone)
SUBSCRIBERS = Gauge("tmf640_graphql_subscribers", "GraphQL subscription operations running over WebSocket",
                    registry=REGISTRY)
LET_GO = Counter("tmf640_graphql_subscribers_let_go",
                 "Subscribers too slow for their queue, let go of by their shared rendering (each resumed alone)",
                 registry=REGISTRY)
RENDERINGS = Gauge("tmf640_graphql_subscription_renderings",
                   "Distinct subscription selections rendered (each event is rendered once per selection)",
                   registry=REGISTRY)


@dataclass(frozen=True)
class Plan:
    """What a subscribe message asks for, as far as sharing goes: the root field, and whether it resumes."""

    document: DocumentNode
    operation: OperationDefinitionNode
    root: FieldNode


@lru_cache(maxsize=512)
def plan_of(query: str, operation_name: str | None) -> Plan | None:
    """The subscription operation of `query` with one root field; None for anything else (a syntax error too)."""
    try:
        document = parse(query, no_location=True, max_tokens=10_000)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.SUBSCRIPTION:
        return None
    fields = [s for s in chosen[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1 or len(chosen[0].selection_set.selections) != 1:
        return None
    return Plan(document, chosen[0], fields[0])


def resumes(plan: Plan, variables: dict[str, Any] | None) -> bool:
    """Whether the root field is given a non-null `after` (literally or through a variable)."""
    for arg in plan.root.arguments or ():
        if arg.name.value != "after":
            continue
        if isinstance(arg.value, NullValueNode):
            return False
        if isinstance(arg.value, VariableNode):
            return (variables or {}).get(arg.value.name.value) is not None
        return True
    return False


def resumed_request(
    plan: Plan, query: str, variables: dict[str, Any] | None, event_id: str
) -> tuple[str, dict[str, Any] | None]:
    """The request (document, variables) of `plan` with its root field's `after` set to `event_id`: through its
    variable when `after` is given one, else in the document."""
    for arg in plan.root.arguments or ():
        if arg.name.value == "after" and isinstance(arg.value, VariableNode):
            return query, {**(variables or {}), arg.value.name.value: event_id}
    return resumed_after(plan, event_id), variables


def resumed_after(plan: Plan, event_id: str) -> str:
    """The document of `plan` with its root field's `after` set to `event_id`."""
    root = plan.root
    arguments = [a for a in root.arguments or () if a.name.value != "after"]
    arguments.append(ArgumentNode(name=NameNode(value="after"), value=StringValueNode(value=event_id)))
    new_root = FieldNode(alias=root.alias, name=root.name, arguments=tuple(arguments), directives=root.directives,
                         selection_set=root.selection_set)
    selections = tuple(new_root if s is root else s for s in plan.operation.selection_set.selections)
    new_set = type(plan.operation.selection_set)(selections=selections)
    operation = OperationDefinitionNode(operation=plan.operation.operation, name=plan.operation.name,
                                        variable_definitions=plan.operation.variable_definitions,
                                        directives=plan.operation.directives, selection_set=new_set)
    definitions = tuple(operation if d is plan.operation else d for d in plan.document.definitions)
    return print_ast(DocumentNode(definitions=definitions))


@dataclass(eq=False)
class Subscriber:
    """One operation of one connection, fed by a rendering. Its queue holds (message text, event id)."""

    queue: asyncio.Queue[tuple[str, str | None] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=SUBSCRIBER_QUEUE))
    dropped: bool = False  # let go of: it resumes alone after what its queue held
    last_event: str | None = None  # the last event put in its queue
    end: dict[str, Any] | None = None  # the final message (complete or error), when the rendering ended


class Rendering:
    """One stream of a selection, its results encoded once and offered to each subscriber's queue."""

    def __init__(self, key: Hashable, renderings: dict[Hashable, Rendering]) -> None:
        self.key = key
        self.renderings = renderings
        self.subscribers: set[Subscriber] = set()
        self.position: list[str | None] = [None]
        self.task: asyncio.Task[None] | None = None

    def start(self, handler: Any, query: str, variables: dict[str, Any] | None, operation_name: str | None) -> None:
        RENDERINGS.inc()
        self.task = asyncio.create_task(self._run(handler, query, variables, operation_name),
                                        name="tmf640-subscription-rendering")

    def leave(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        if not self.subscribers and self.task is not None and not self.task.done():
            self._forget()
            self.task.cancel()  # the stream closes: it leaves the bus

    def _forget(self) -> None:
        if self.renderings.get(self.key) is self:
            del self.renderings[self.key]

    async def _run(self, handler: Any, query: str, variables: dict[str, Any] | None, name: str | None) -> None:
        token = POSITION.set(self.position)
        end: dict[str, Any] = {"type": "complete"}
        try:
            source = await handler.schema.stream(query, variable_values=variables, context_value=handler.context,
                                                 root_value=handler.root_value, operation_name=name)
            async with contextlib.aclosing(source):
                first = True
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        end = {"type": "error", "payload": [e.formatted for e in result.errors or []]}
                        return
                    if not isinstance(result, ExecutionResult):
                        error = GraphQLError("Incremental delivery is not supported over graphql-transport-ws")
                        end = {"type": "error", "payload": [error.formatted]}
                        return
                    first = False
                    self._offer(_encode(result), self.position[0])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failure of the rendering ends its subscribers, as Strawberry would
            log.exception("subscription rendering failed")
            end = {"type": "error", "payload": [GraphQLError(f"subscription failed: {type(exc).__name__}").formatted]}
        finally:
            POSITION.reset(token)
            self._forget()
            RENDERINGS.dec()
            for sub in list(self.subscribers):
                sub.end = end
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)
            self.subscribers.clear()

    def _offer(self, payload: str, event_id: str | None) -> None:
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait((payload, event_id))
                sub.last_event = event_id
            except asyncio.QueueFull:  # too slow: let go of, it resumes alone (the others never wait)
                LET_GO.inc()
                sub.dropped = True
                self.subscribers.discard(sub)
                sub.end = None
        if not self.subscribers and self.task is not None:
            self._forget()
            self.task.cancel()


def _encode(result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json_text.dumps(payload).decode()  # as every other answer is written (resolvers.rules.json_text)


def key_of(handler: Any, query: str, variables: dict[str, Any] | None, name: str | None) -> Hashable:
    ctx = handler.context.request_context
    return (query, json.dumps(variables or {}, sort_keys=True, default=str), name, ctx.caller, ctx.base_url)


_RENDERINGS: dict[int, dict[Hashable, Rendering]] = {}


class SharedRenderingMixin:
    """For a graphql-transport-ws handler (Strawberry's BaseGraphQLTransportWSHandler): live subscriptions of the
    same selection share one rendering (see the module docstring); every other operation runs as Strawberry runs it.
    """

    schema: Any
    context: Any
    websocket: Any

    async def run_operation(self, operation: Any) -> None:
        plan = plan_of(operation.query, operation.operation_name)
        if plan is None:
            await super().run_operation(operation)  # type: ignore[misc]
            return
        SUBSCRIBERS.inc()
        try:
            if resumes(plan, operation.variables):
                await super().run_operation(operation)  # type: ignore[misc]
            else:
                await self._shared(operation, plan)
        finally:
            SUBSCRIBERS.dec()

    async def _shared(self, operation: Any, plan: Plan) -> None:
        renderings = _RENDERINGS.setdefault(id(self.schema), {})
        key = key_of(self, operation.query, operation.variables, operation.operation_name)
        rendering = renderings.get(key)
        if rendering is None:
            rendering = renderings[key] = Rendering(key, renderings)
            rendering.start(self, operation.query, operation.variables, operation.operation_name)
        sub = Subscriber()
        rendering.subscribers.add(sub)
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        try:
            while not (sub.queue.empty() and (sub.dropped or sub.end is not None)):
                item = await sub.queue.get()
                if item is None:
                    break
                try:
                    await self._send_text(prefix + item[0] + "}")
                except Exception:  # the client went away: its connection's handler ends the operation
                    return
        finally:
            rendering.leave(sub)
        if sub.dropped:
            await self._resume(operation, plan, sub.last_event)
            return
        end = sub.end or {"type": "complete"}
        await operation.send_operation_message({"id": operation.id, **end})

    async def _resume(self, operation: Any, plan: Plan, last_event: str | None) -> None:
        """A subscriber let go of: the same subscription for it alone, `after` the last event it was sent."""
        if last_event is not None:
            operation.query, operation.variables = resumed_request(plan, operation.query, operation.variables,
                                                                   last_event)
        await super().run_operation(operation)  # type: ignore[misc]

    async def _send_text(self, text: str) -> None:
        ws = getattr(self.websocket, "ws", None)
        if ws is not None and hasattr(ws, "send_text"):
            await ws.send_text(text)
        else:
            await self.websocket.send_json(json.loads(text))
