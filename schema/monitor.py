"""The TMF640 Monitor (Request, Response, HeaderItem): the tracking record of asynchronous work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from resolvers.documents import ref_id
from schema.context import GraphQLContext
from schema.convert import from_tmf, tmf_type
from schema.tmf import Extensible

if TYPE_CHECKING:
    from schema.service import Service

Info = strawberry.Info[GraphQLContext, None]


@tmf_type()
class HeaderItem(Extensible):
    name: str | None
    value: str | None


@tmf_type(description="The request a monitor tracks (body is a string, as in the swagger).")
class Request(Extensible):
    body: str | None
    method: str | None
    to: str | None
    header: list[HeaderItem] | None


@tmf_type(description="The response to the tracked request (statusCode and body are strings).")
class Response(Extensible):
    body: str | None
    status_code: str | None
    header: list[HeaderItem] | None


@tmf_type(description="Tracks a long-running request on a service (TMF640 Monitor).")
class Monitor(Extensible):
    id: strawberry.ID
    href: str | None
    source_href: str | None
    state: str | None = strawberry.field(description="InProgress, InError or Completed (free text in TMF)")
    request: Request | None
    response: Response | None
    document: JSON = strawberry.field(description="The whole TMF representation, exactly as REST returns it")

    @strawberry.field(description="The service the monitor's sourceHref points at, when held here")
    async def service(self, info: Info) -> Annotated[Service, strawberry.lazy("schema.service")] | None:
        from schema.service import service_of  # here: schema.service imports this module

        href = self.tmf.get("sourceHref")
        target = ref_id({"href": href}) if isinstance(href, str) else None
        view = await info.context.loaders.service.load(target) if target else None
        return service_of(view) if view is not None else None


def monitor_of(doc: dict[str, Any]) -> Monitor:
    return from_tmf(Monitor, doc)
