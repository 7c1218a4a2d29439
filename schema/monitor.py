"""The TMF640 Monitor (Request, Response, HeaderItem): the tracking record of asynchronous work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from resolvers.rules.documents import ref_id
from schema.context import GraphQLContext
from schema.convert import from_tmf, tmf_type
from schema.enums import MemberAction, MemberStatus, MonitorOutcome, MonitorState, enum_or_none
from schema.node import Node
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
    action: MemberAction | None = strawberry.field(
        description="What the driver is asked to do; null: no driver needed"
    )
    from_state: str | None
    target_state: str | None
    status: MemberStatus | None = strawberry.field(description="Where this service's part stands")
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
            action=enum_or_none(MemberAction, entry.get("action")), from_state=text("fromState"),
            target_state=text("targetState"), status=enum_or_none(MemberStatus, entry.get("status")),
            state=text("state"), error=text("error"), result=entry.get("result"),
        )


@strawberry.type(description="An operator's action on held work, as recorded on the monitor.")
class OperatorAction:
    action: str = strawberry.field(description="retry, abort or resolve")
    by: str | None = strawberry.field(description="Who acted")
    reason: str | None = strawberry.field(description="Why")
    at: str | None = strawberry.field(description="When (ISO 8601, UTC)")
    state: str | None = strawberry.field(description="resolve: the outcome recorded (Completed or InError)")

    @classmethod
    def of(cls, entry: dict[str, Any]) -> OperatorAction:
        def text(key: str) -> str | None:
            value = entry.get(key)
            return value if isinstance(value, str) else None

        return cls(action=str(entry.get("action")), by=text("by"), reason=text("reason"), at=text("at"),
                   state=text("state"))


@tmf_type(description="Tracks a long-running request on a service (TMF640 Monitor).")
class Monitor(Extensible, Node):
    id: strawberry.ID
    href: str | None
    source_href: str | None
    state: MonitorState | None = strawberry.field(description="InProgress, InError or Completed (free text in TMF)")
    request: Request | None
    response: Response | None
    document: JSON = strawberry.field(description="The whole TMF representation, exactly as REST returns it")

    def node_key(self) -> str:
        return str(self.tmf["id"])

    @strawberry.field(description="Where the work stands, from response.body: inProgress, completed, failed or "
                      "cancelled")
    def outcome(self, info: Info) -> MonitorOutcome | None:
        value = info.context.resolvers.monitors.summary(self.tmf).get("outcome")
        return enum_or_none(MonitorOutcome, value)

    @strawberry.field(description="True while the work is held for an operator (retries ran out, a compensation "
                      "could not complete, a driver stayed unreachable)")
    def held(self) -> bool:
        return self.tmf.get("held") is True

    @strawberry.field(description="Why the work is held")
    def held_reason(self) -> str | None:
        value = self.tmf.get("heldReason")
        return value if isinstance(value, str) else None

    @strawberry.field(description="True once the work ran longer than expected (jeopardy)")
    def jeopardy(self) -> bool:
        return self.tmf.get("jeopardy") is True

    @strawberry.field(description="Operators' actions on this work: who did what, and why")
    def operator_actions(self) -> list[OperatorAction]:
        entries = self.tmf.get("operatorActions")
        return [OperatorAction.of(e) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    @strawberry.field(description="Monitors of later requests that amended or cancelled this work")
    def amended_by(self, info: Info) -> list[str]:
        value = info.context.resolvers.monitors.summary(self.tmf).get("amendedBy")
        return [str(v) for v in value] if isinstance(value, list) else []

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
