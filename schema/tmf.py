"""TMF640 v4 sub-resources as GraphQL types, field for field (`@type` -> `type` and so on, see schema.convert).

Date-times (TMF `format: date-time`) are `DateTime`s; a stored value that is not one reads as null there, and
`document` (like REST) returns it exactly as stored. `serviceDate` has no date-time format in the swagger and
stays a string.
Every type built from a document has `extensions`: the attributes it does not declare, e.g. a subclass's.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from schema.convert import tmf_type


@strawberry.enum(description="Lifecycle state of a service (TMF640 ServiceStateType).")
class ServiceStateType(enum.Enum):
    feasibilityChecked = "feasibilityChecked"  # TMF's spelling
    designed = "designed"
    reserved = "reserved"
    inactive = "inactive"
    active = "active"
    terminated = "terminated"


@strawberry.enum(description="Action of a service order item (TMF OrderItemActionType).")
class OrderItemActionType(enum.Enum):
    add = "add"
    modify = "modify"
    delete = "delete"
    noChange = "noChange"  # TMF's spelling


@tmf_type(description="Polymorphic attributes every TMF entity carries.")
class Extensible:
    tmf: strawberry.Private[dict[str, Any]]
    type: str | None = strawberry.field(description="@type: the class (or subclass) of the entity")
    base_type: str | None = strawberry.field(description="@baseType: the super-class when sub-classing")
    schema_location: str | None = strawberry.field(description="@schemaLocation: JSON schema of the subclass")
    extensions: JSON | None = strawberry.field(
        description="Attributes this type does not declare (subclass and unknown ones), as sent; null if none"
    )


@tmf_type(description="A reference that may name the type of its target.")
class Referring(Extensible):
    referred_type: str | None = strawberry.field(description="@referredType: the type of the target")


@tmf_type()
class TimePeriod(Extensible):
    start_date_time: datetime | None
    end_date_time: datetime | None


@tmf_type()
class CharacteristicRelationship(Extensible):
    id: str | None
    relationship_type: str | None


@tmf_type(description="A name/value pair; the value is any JSON and round-trips exactly.")
class Characteristic(Extensible):
    id: str | None
    name: str | None
    value_type: str | None
    value: JSON | None
    characteristic_relationship: list[CharacteristicRelationship] | None


@tmf_type()
class ConstraintRef(Referring):
    id: str | None
    href: str | None
    name: str | None
    version: str | None


@tmf_type(description="Reference to a policy (TMF feature policyConstraint; later TMF releases).")
class PolicyRef(Referring):
    id: str | None
    href: str | None
    name: str | None
    version: str | None


@tmf_type()
class FeatureRelationship(Extensible):
    id: str | None
    name: str | None
    relationship_type: str | None
    valid_for: TimePeriod | None


@tmf_type(description="A configuration feature of a service.")
class Feature(Extensible):
    id: str | None
    is_bundle: bool | None
    is_enabled: bool | None
    name: str | None
    constraint: list[ConstraintRef] | None
    feature_characteristic: list[Characteristic] | None
    feature_relationship: list[FeatureRelationship] | None
    policy_constraint: list[PolicyRef] | None


@tmf_type()
class Note(Extensible):
    id: str | None
    author: str | None
    date: datetime | None
    text: str | None


@tmf_type()
class RelatedParty(Referring):
    id: str | None
    href: str | None
    name: str | None
    role: str | None


@tmf_type()
class RelatedPlaceRefOrValue(Referring):
    id: str | None
    href: str | None
    name: str | None
    role: str | None


@tmf_type()
class RelatedEntityRefOrValue(Referring):
    id: str | None
    href: str | None
    name: str | None
    role: str | None


@tmf_type()
class ResourceRef(Referring):
    id: str | None
    href: str | None
    name: str | None


@tmf_type()
class ServiceSpecificationRef(Referring):
    id: str | None
    href: str | None
    name: str | None
    version: str | None


@tmf_type()
class RelatedServiceOrderItem(Referring):
    item_id: str | None
    role: str | None
    service_order_href: str | None
    service_order_id: str | None
    item_action: OrderItemActionType | None


@tmf_type(description="A relationship to another service, by reference or by value.")
class ServiceRelationship(Extensible):
    __tmf_keys__ = {"service_relationship_characteristic": "ServiceRelationshipCharacteristic"}  # swagger's case

    relationship_type: str | None
    service_relationship_characteristic: list[Characteristic] | None = strawberry.field(
        description="The swagger spells this attribute ServiceRelationshipCharacteristic"
    )
    service: ServiceRefOrValue | None


@tmf_type(description="Every attribute of a TMF640 v4 Service, as stored.")
class ServiceAttributes(Extensible):
    href: str | None
    category: str | None
    description: str | None
    end_date: datetime | None
    has_started: bool | None
    is_bundle: bool | None
    is_service_enabled: bool | None
    is_stateful: bool | None
    name: str | None
    service_date: str | None
    service_type: str | None
    start_date: datetime | None
    start_mode: str | None
    feature: list[Feature] | None
    note: list[Note] | None
    place: list[RelatedPlaceRefOrValue] | None
    related_entity: list[RelatedEntityRefOrValue] | None
    related_party: list[RelatedParty] | None
    service_characteristic: list[Characteristic] | None
    service_order_item: list[RelatedServiceOrderItem] | None
    service_relationship: list[ServiceRelationship] | None
    service_specification: ServiceSpecificationRef | None
    state: ServiceStateType | None
    supporting_resource: list[ResourceRef] | None
    supporting_service: list[ServiceRefOrValue] | None


@tmf_type(
    description="A service given by reference (id/href) or by value (its attributes). Members created by "
    "value read back with their current attributes; a reference to a service held elsewhere stays a reference."
)
class ServiceRefOrValue(ServiceAttributes):
    id: str | None
    referred_type: str | None
