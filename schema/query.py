"""Query root: one service or monitor by id, and filtered, sorted Relay connections of each."""

from __future__ import annotations

import strawberry

from resolvers.navigation import ServiceView
from resolvers.rules.errors import DomainError
from resolvers.rules.query_check import ListQuery
from resolvers.services import etag
from schema.connection import Connection, connection, fetch, window
from schema.context import GraphQLContext
from schema.errors import query_error
from schema.inputs import MonitorFilter, ServiceFilter, SortBy, sort_keys
from schema.monitor import Monitor, monitor_of
from schema.service import Service, service_of

Info = strawberry.Info[GraphQLContext, None]


@strawberry.type
class Query:
    @strawberry.field(description="The service with this id, or null when none is held here")
    async def service(self, info: Info, id: strawberry.ID) -> Service | None:
        view = await info.context.loaders.service.load(str(id))
        return service_of(view) if view is not None else None

    @strawberry.field(
        description="Services matching the filter, sorted (default: by id), as a Relay connection. Cursors are "
        "keyset positions (stable while rows are inserted or deleted); without first/last a page holds up to the "
        "server's page bound."
    )
    async def services(
        self,
        info: Info,
        filter: ServiceFilter | None = None,
        sort: list[SortBy] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Service]:
        services, ctx = info.context.resolvers.services, info.context.request_context
        try:
            base = ListQuery(conditions=tuple(filter.conditions()) if filter else (), sort=sort_keys(sort))
            part = window(base, first, after, last, before)
            page, keep = await fetch(part, lambda q: services.search(ctx, q))
        except DomainError as exc:
            raise query_error(exc) from exc
        views = [ServiceView(doc, etag(v)) for doc, v in zip(page.items, page.versions, strict=True)]
        for i in keep:  # navigation from these nodes reuses what the search read
            info.context.loaders.service.prime(views[i].id, views[i])
        return connection(part, page, keep, [service_of(v) for v in views])

    @strawberry.field(description="The monitor with this id, or null when none is held here")
    async def monitor(self, info: Info, id: strawberry.ID) -> Monitor | None:
        doc = await info.context.loaders.monitor.load(str(id))
        return monitor_of(doc) if doc is not None else None

    @strawberry.field(description="Monitors matching the filter, sorted (default: by id), as a Relay connection")
    async def monitors(
        self,
        info: Info,
        filter: MonitorFilter | None = None,
        sort: list[SortBy] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Monitor]:
        monitors, ctx = info.context.resolvers.monitors, info.context.request_context
        try:
            base = ListQuery(conditions=tuple(filter.conditions()) if filter else (), sort=sort_keys(sort))
            part = window(base, first, after, last, before)
            page, keep = await fetch(part, lambda q: monitors.search(ctx, q))
        except DomainError as exc:
            raise query_error(exc) from exc
        return connection(part, page, keep, [monitor_of(doc) for doc in page.items])
