"""Subscription root: thin generators over resolvers.subscriptions (over graphql-transport-ws, see schema/asgi).

Each subscription resolver checks its arguments before it returns its stream, so a bad one (unknown `treeOf`,
`after` or event type, bad `query`) fails the subscribe request itself: graphql-transport-ws answers it with an
`error` message naming it, and no `next`. The stream then yields committed events in commit order: after
`after` (an eventId) from the outbox, then live, no gap, no duplicate. Its `finally` closes the feed, which
leaves the bus, whether the client completed, went away or the server stops. A failure of the bus ends the
subscription with an error naming the event to resume after.

Each event yielded is noted in `POSITION` (when the caller set it): schema.fanout shares one rendering among
subscribers and uses it to resume a subscriber it had to let go of.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.feed import FeedEvent
from resolvers.rules.errors import DomainError
from resolvers.services import etag
from resolvers.subscriptions import work_service_id
from schema.context import GraphQLContext
from schema.convert import from_tmf, instant
from schema.enums import EventType, MonitorState, values
from schema.errors import query_error
from schema.monitor import Monitor, monitor_of
from schema.service import Service
from schema.tmf import ServiceStateType

Info = strawberry.Info[GraphQLContext, None]
# The eventId of the last event a subscription yielded, for whoever runs it (schema.fanout); unset: nobody asks.
POSITION: ContextVar[list[str | None] | None] = ContextVar("tmf640_subscription_position", default=None)


@strawberry.interface(description="A committed TMF event (TMF688 envelope) as a subscription delivers it.")
class ChangeEvent:
    event_id: str = strawberry.field(description="Unique id; pass it as `after` to resume after this event")
    event_type: EventType = strawberry.field(description="ServiceCreateEvent, MonitorCreateEvent...")
    event_time: datetime = strawberry.field(description="When the change was committed (UTC)")
    correlation_id: str | None = strawberry.field(description="Threads every event of one request")
    field_path: str | None = strawberry.field(description="Changed first-level attributes (AttributeValueChange)")
    envelope: JSON = strawberry.field(description="The whole TMF688 envelope, as hub listeners receive it")
    event: JSON = strawberry.field(description="The envelope's `event`: {service: ...} or {monitor: ...}")


@strawberry.type(description="A service event, with the service as it stood after the change (before, for a delete). "
                  "A tree subscription asked for its work also delivers monitor events as ServiceEvent: `monitor` "
                  "is set and `service` is the service the work is on (id, href and state as the monitor names it).")
class ServiceEvent(ChangeEvent):
    service: Service = strawberry.field(
        description="The service as the event carries it, with the etag of that version (pass it as ifMatch); "
        "empty for a monitor event, or an event recorded before versions were kept."
    )
    monitor: Monitor | None = strawberry.field(
        default=None, description="The tree's work, on MonitorCreateEvent (accepted) and MonitorStateChangeEvent"
    )


@strawberry.type(description="A monitor event, with the monitor as it stood after the change.")
class MonitorEvent(ChangeEvent):
    monitor: Monitor


@strawberry.type(description="Any event: `service` or `monitor` is set, by the event's resource.")
class AnyEvent(ChangeEvent):
    service: Service | None
    monitor: Monitor | None


def _common(event: FeedEvent) -> dict[str, Any]:
    payload = event.payload
    return {
        "event_id": event.event_id,
        "event_type": EventType(event.event_type),  # this server's outbox holds only these
        "event_time": instant(payload.get("eventTime")) or datetime.fromtimestamp(0, UTC),
        "correlation_id": event.correlation_id,
        "field_path": payload.get("fieldPath"),
        "envelope": payload,
        "event": payload.get("event"),
    }


def _etag(event: FeedEvent) -> str:
    if event.version is not None:
        return etag(event.version)
    return etag(1) if event.event_type == "ServiceCreateEvent" else ""  # a service is created at version 1


def _service(event: FeedEvent) -> Service | None:
    doc = (event.payload.get("event") or {}).get("service")
    return from_tmf(Service, doc, etag=_etag(event)) if isinstance(doc, dict) else None


def _service_event(event: FeedEvent) -> ServiceEvent | None:
    service = _service(event)
    if service is not None:
        return ServiceEvent(service=service, **_common(event))
    monitor = _monitor(event)
    sid = work_service_id(event.payload)
    if monitor is None or sid is None:
        return None
    summary = json.loads((event.payload["event"]["monitor"].get("response") or {}).get("body") or "{}")["service"]
    doc = {k: summary[k] for k in ("id", "href", "state") if summary.get(k) is not None}
    return ServiceEvent(service=from_tmf(Service, doc, etag=""), monitor=monitor, **_common(event))


def _monitor(event: FeedEvent) -> Monitor | None:
    doc = (event.payload.get("event") or {}).get("monitor")
    return monitor_of(doc) if isinstance(doc, dict) else None


def _monitor_event(event: FeedEvent) -> MonitorEvent | None:
    monitor = _monitor(event)
    return MonitorEvent(monitor=monitor, **_common(event)) if monitor is not None else None


def _any_event(event: FeedEvent) -> AnyEvent:
    return AnyEvent(service=_service(event), monitor=_monitor(event), **_common(event))


async def _open(opened: Awaitable[AsyncGenerator[FeedEvent, None]]) -> AsyncGenerator[FeedEvent, None]:
    """The stream, once its arguments are checked; a bad argument is a GraphQL error naming it."""
    try:
        return await opened
    except DomainError as exc:
        raise query_error(exc) from exc


async def _events(
    stream: AsyncGenerator[FeedEvent, None], make: Callable[[FeedEvent], Any]
) -> AsyncGenerator[Any, None]:
    """What `make` builds of each event of `stream` (events it makes None of are skipped)."""
    position = POSITION.get()
    try:
        async for event in stream:
            if position is not None:
                position[0] = event.event_id
            item = make(event)
            if item is not None:
                yield item
    except DomainError as exc:  # EventStreamInterrupted: names the event to resume after
        raise query_error(exc) from exc
    finally:
        await stream.aclose()  # leaves the bus now, whatever ended the subscription


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Service events: of `ids`, or of the tree of the bundle `treeOf` (the bundle and every "
        "service below it through supportingService, members added later included), filtered by the service's "
        "state after the change, event type and correlation id. `after`: replay from the event after this "
        "eventId, then live."
    )
    async def service_changed(
        self,
        info: Info,
        ids: list[strawberry.ID] | None = None,
        tree_of: strawberry.ID | None = None,
        states: list[ServiceStateType] | None = None,
        event_types: list[EventType] | None = None,
        correlation_id: str | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[ServiceEvent, None]:
        subs, ctx = info.context.resolvers.subscriptions, info.context.request_context
        opened = subs.service_changes(
            ctx, ids=[str(i) for i in ids] if ids is not None else None,
            tree_of=str(tree_of) if tree_of is not None else None,
            states=[s.value for s in states] if states else None, event_types=values(event_types),
            correlation_id=correlation_id, after=after,
        )
        return _events(await _open(opened), _service_event)

    @strawberry.subscription(
        description="Monitor events: of the monitor `id` (all monitors without it), filtered by the monitor's "
        "state (InProgress, InError, Completed) and event type. `after` as on serviceChanged."
    )
    async def monitor_changed(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        states: list[MonitorState] | None = None,
        event_types: list[EventType] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[MonitorEvent, None]:
        subs, ctx = info.context.resolvers.subscriptions, info.context.request_context
        opened = subs.monitor_changes(
            ctx, id=str(id) if id is not None else None, states=values(states), event_types=values(event_types),
            after=after,
        )
        return _events(await _open(opened), _monitor_event)

    @strawberry.subscription(
        description="Every event, or those of `eventTypes` matching `query`: the hub's REST filter syntax on the "
        "event (e.g. \"correlationId=order-17&event.service.state=active\"). `after` as on serviceChanged."
    )
    async def events(
        self,
        info: Info,
        event_types: list[EventType] | None = None,
        query: str | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[AnyEvent, None]:
        subs, ctx = info.context.resolvers.subscriptions, info.context.request_context
        opened = subs.events(ctx, event_types=values(event_types), query=query, after=after)
        return _events(await _open(opened), _any_event)
