"""Closed vocabularies of the API as GraphQL enums (monitor state and outcome, member status and action, event
type, sort field). Each value is spelled as the TMF document and REST spell it; a stored value outside the
vocabulary (a document written by another system) reads as null on the typed field, and stays in `document`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=enum.Enum)


@strawberry.enum(description="State of a TMF640 Monitor.")
class MonitorState(enum.Enum):
    InProgress = "InProgress"
    InError = "InError"
    Completed = "Completed"


@strawberry.enum(description="Where the work a monitor tracks stands (response.body.outcome).")
class MonitorOutcome(enum.Enum):
    inProgress = "inProgress"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


@strawberry.enum(description="One service's part in the work a monitor tracks.")
class MemberStatus(enum.Enum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    compensating = "compensating"
    compensated = "compensated"
    compensationFailed = "compensationFailed"


@strawberry.enum(description="What a driver is asked to do for one service.")
class MemberAction(enum.Enum):
    feasibilityCheck = "feasibilityCheck"
    design = "design"
    reserve = "reserve"
    provision = "provision"
    activate = "activate"
    deactivate = "deactivate"
    modify = "modify"
    terminate = "terminate"


@strawberry.enum(description="TMF event types (TMF688 envelope eventType).")
class EventType(enum.Enum):
    ServiceCreateEvent = "ServiceCreateEvent"
    ServiceAttributeValueChangeEvent = "ServiceAttributeValueChangeEvent"
    ServiceStateChangeEvent = "ServiceStateChangeEvent"
    ServiceDeleteEvent = "ServiceDeleteEvent"
    MonitorCreateEvent = "MonitorCreateEvent"
    MonitorAttributeValueChangeEvent = "MonitorAttributeValueChangeEvent"
    MonitorStateChangeEvent = "MonitorStateChangeEvent"
    MonitorDeleteEvent = "MonitorDeleteEvent"


@strawberry.enum(description="Attributes lists are most often sorted by; SortBy.path reaches any other.")
class SortField(enum.Enum):
    id = "id"
    name = "name"
    state = "state"
    category = "category"
    serviceType = "serviceType"
    type = strawberry.enum_value("@type", description="@type")
    isBundle = "isBundle"
    startDate = "startDate"
    endDate = "endDate"
    serviceDate = "serviceDate"
    specificationId = strawberry.enum_value("serviceSpecification.id", description="serviceSpecification.id")
    specificationName = strawberry.enum_value("serviceSpecification.name", description="serviceSpecification.name")
    sourceHref = strawberry.enum_value("sourceHref", description="A monitor's sourceHref")


def values(items: Sequence[enum.Enum] | None) -> list[str] | None:
    return [str(i.value) for i in items] if items is not None else None


def enum_or_none(kind: type[E], value: object) -> E | None:
    try:
        return kind(value)
    except ValueError:
        return None
