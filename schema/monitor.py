"""The TMF640 Monitor (Request, Response, HeaderItem): the tracking record of asynchronous work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from resolvers.rules.documents import ref_id
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


@strawberry.type(description="One service's part in the work a monitor tracks (a bundle's monitor has one per "
                  "member, in the order they are driven).")
class MonitorMemberStatus:
    service_id: strawberry.ID
    href: str | None
    step_id: str | None = strawberry.field(description="The step's id inside the activation (drivers see it)")
    action: str | None = strawberry.field(description="What the driver is asked to do; null: no driver needed")
    from_state: str | None
    target_state: str | None
    status: str = strawberry.field(description="pending, running, completed, failed, cancelled, compensating, "
                                   "compensated or compensationFailed")
    state: str | None = strawberry.field(description="The service's as-is state when the monitor was written")
    error: str | None
    result: JSON | None = strawberry.field(description="What the driver returned")

    @classmethod
    def of(cls, entry: dict[str, Any]) -> MonitorMemberStatus:
        def text(key: str) -> str | None:
            value = entry.get(key)
            return value if isinstance(value, str) else None

        return cls(
            service_id=strawberry.ID(str(entry.get("id"))), href=text("href"), step_id=text("stepId"),
            action=text("action"), from_state=text("fromState"), target_state=text("targetState"),
            status=str(entry.get("status")), state=text("state"), error=text("error"), result=entry.get("result"),
        )


@tmf_type(description="Tracks a long-running request on a service (TMF640 Monitor).")
class Monitor(Extensible):
    id: strawberry.ID
    href: str | None
    source_href: str | None
    state: str | None = strawberry.field(description="InProgress, InError or Completed (free text in TMF)")
    request: Request | None
    response: Response | None
    document: JSON = strawberry.field(description="The whole TMF representation, exactly as REST returns it")

    @strawberry.field(description="Where the work stands, from response.body: inProgress, completed, failed or "
                      "cancelled")
    def outcome(self, info: Info) -> str | None:
        return info.context.resolvers.monitors.verdict(self.tmf).outcome

    @strawberry.field(description="Each service's part in the work (from response.body): a bundle's members")
    def members(self, info: Info) -> list[MonitorMemberStatus]:
        return [MonitorMemberStatus.of(m) for m in info.context.resolvers.monitors.member_statuses(self.tmf)]

    @strawberry.field(description="The service the monitor's sourceHref points at, when held here")
    async def service(self, info: Info) -> Annotated[Service, strawberry.lazy("schema.service")] | None:
        from schema.service import service_of  # here: schema.service imports this module

        href = self.tmf.get("sourceHref")
        target = ref_id({"href": href}) if isinstance(href, str) else None
        view = await info.context.loaders.service.load(target) if target else None
        return service_of(view) if view is not None else None


def monitor_of(doc: dict[str, Any]) -> Monitor:
    return from_tmf(Monitor, doc)
