"""Typed inputs for service writes, field for field from the TMF640 v4 swagger (`Service_Create`,
`Service_Update` and the sub-resources they hold), named as the output types name them (`@type` -> `type`).

Every input has `extensions: JSON`, attributes the swagger does not declare (a subclass's, say), merged into
the TMF object as sent. `to_tmf` turns an input into the TMF document REST would receive, so a typed write and
a REST write with that document are one operation on one resolver. An omitted field is left out; in
`ServiceUpdateInput` (a typed JSON Merge Patch) an explicit null removes the attribute, as RFC 7396 says.
Date-times are `DateTime`; a UTC instant is written with `Z`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import has_object_definition

from resolvers.rules.errors import ValidationFailed
from schema.convert import POLYMORPHIC, camel
from schema.tmf import OrderItemActionType, ServiceStateType

UNSET: Any = strawberry.UNSET
EXTENSIONS_DOC = "Attributes the swagger does not declare (e.g. a subclass's), merged into this object as sent"


def _tmf_value(value: Any, path: str) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_tmf_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if has_object_definition(value):
        return to_tmf(value, path)
    return value


def to_tmf(obj: Any, path: str = "") -> dict[str, Any]:
    """The TMF document of a typed input: declared fields by their TMF names, then `extensions`."""
    renames: dict[str, str] = getattr(type(obj), "__tmf_keys__", {})
    out: dict[str, Any] = {}
    for field in obj.__strawberry_definition__.fields:
        name = field.python_name
        value = getattr(obj, name)
        if name == "extensions" or value is UNSET:
            continue
        key = renames.get(name) or POLYMORPHIC.get(name) or camel(name)
        out[key] = _tmf_value(value, f"{path}.{key}" if path else key)
    extra = getattr(obj, "extensions", UNSET)
    if extra not in (UNSET, None):
        where = f"{path}.extensions" if path else "extensions"
        if not isinstance(extra, dict):
            raise ValidationFailed(where, "must be an object of attribute names and values")
        clash = sorted(set(extra) & set(out))
        if clash:
            raise ValidationFailed(where, f"{clash[0]!r} is a declared field: give it there, not in extensions")
        out.update(extra)
    return out


def _opt(description: str | None = None) -> Any:
    return strawberry.field(default=UNSET, description=description)


@strawberry.input(description="Polymorphic attributes every TMF entity carries.")
class ExtensibleInput:
    type: str | None = _opt("@type: the class (or subclass) of the entity")
    base_type: str | None = _opt("@baseType")
    schema_location: str | None = _opt("@schemaLocation")
    extensions: JSON | None = _opt(EXTENSIONS_DOC)


@strawberry.input
class TimePeriodInput(ExtensibleInput):
    start_date_time: datetime | None = _opt()
    end_date_time: datetime | None = _opt()


@strawberry.input
class CharacteristicRelationshipInput(ExtensibleInput):
    id: str | None = _opt()
    relationship_type: str | None = _opt()


@strawberry.input(description="A name/value pair; the value is any JSON.")
class CharacteristicInput(ExtensibleInput):
    name: str
    value: JSON
    id: str | None = _opt()
    value_type: str | None = _opt()
    characteristic_relationship: list[CharacteristicRelationshipInput] | None = _opt()


@strawberry.input
class ConstraintRefInput(ExtensibleInput):
    id: str
    href: str | None = _opt()
    name: str | None = _opt()
    version: str | None = _opt()
    referred_type: str | None = _opt()


@strawberry.input
class FeatureRelationshipInput(ExtensibleInput):
    name: str
    relationship_type: str
    id: str | None = _opt()
    valid_for: TimePeriodInput | None = _opt()


@strawberry.input(description="A configuration feature of a service.")
class FeatureInput(ExtensibleInput):
    name: str
    feature_characteristic: list[CharacteristicInput]
    id: str | None = _opt()
    is_bundle: bool | None = _opt()
    is_enabled: bool | None = _opt()
    constraint: list[ConstraintRefInput] | None = _opt()
    feature_relationship: list[FeatureRelationshipInput] | None = _opt()


@strawberry.input
class NoteInput(ExtensibleInput):
    id: str | None = _opt()
    author: str | None = _opt()
    date: datetime | None = _opt()
    text: str | None = _opt()


@strawberry.input
class RelatedPartyInput(ExtensibleInput):
    id: str
    referred_type: str
    href: str | None = _opt()
    name: str | None = _opt()
    role: str | None = _opt()


@strawberry.input(description="A place or another entity, by reference or by value, in a role.")
class RelatedRefOrValueInput(ExtensibleInput):
    role: str
    id: str | None = _opt()
    href: str | None = _opt()
    name: str | None = _opt()
    referred_type: str | None = _opt()


@strawberry.input
class ResourceRefInput(ExtensibleInput):
    id: str
    href: str | None = _opt()
    name: str | None = _opt()
    referred_type: str | None = _opt()


@strawberry.input
class ServiceSpecificationRefInput(ExtensibleInput):
    id: str
    href: str | None = _opt()
    name: str | None = _opt()
    version: str | None = _opt()
    referred_type: str | None = _opt()


@strawberry.input
class RelatedServiceOrderItemInput(ExtensibleInput):
    item_id: str
    service_order_id: str
    role: str | None = _opt()
    service_order_href: str | None = _opt()
    item_action: OrderItemActionType | None = _opt()
    referred_type: str | None = _opt()


@strawberry.input(description="A relationship to another service, by reference or by value.")
class ServiceRelationshipInput(ExtensibleInput):
    __tmf_keys__ = {"service_relationship_characteristic": "ServiceRelationshipCharacteristic"}  # swagger's case

    relationship_type: str
    service_relationship_characteristic: list[CharacteristicInput] | None = _opt(
        "The swagger spells this attribute ServiceRelationshipCharacteristic"
    )
    service: ServiceRefOrValueInput | None = _opt()


@strawberry.input(description="Every attribute a service write may carry (TMF640 Service_Update).")
class ServiceFieldsInput(ExtensibleInput):
    category: str | None = _opt()
    description: str | None = _opt()
    end_date: datetime | None = _opt()
    has_started: bool | None = _opt()
    is_bundle: bool | None = _opt()
    is_service_enabled: bool | None = _opt()
    is_stateful: bool | None = _opt()
    name: str | None = _opt()
    service_type: str | None = _opt()
    start_date: datetime | None = _opt()
    start_mode: str | None = _opt()
    feature: list[FeatureInput] | None = _opt()
    note: list[NoteInput] | None = _opt()
    place: list[RelatedRefOrValueInput] | None = _opt()
    related_entity: list[RelatedRefOrValueInput] | None = _opt()
    related_party: list[RelatedPartyInput] | None = _opt()
    service_characteristic: list[CharacteristicInput] | None = _opt()
    service_order_item: list[RelatedServiceOrderItemInput] | None = _opt()
    service_relationship: list[ServiceRelationshipInput] | None = _opt()
    supporting_resource: list[ResourceRefInput] | None = _opt()
    supporting_service: list[ServiceRefOrValueInput] | None = _opt(
        "Members: by value (their attributes; created with this service) or by reference (id/href)"
    )


@strawberry.input(
    description="A service given by reference (id, href) or by value (its attributes; its state defaults to "
    "its bundle's) (TMF640 ServiceRefOrValue)."
)
class ServiceRefOrValueInput(ServiceFieldsInput):
    id: str | None = _opt()
    href: str | None = _opt()
    referred_type: str | None = _opt()
    service_date: str | None = _opt()
    state: ServiceStateType | None = _opt()
    service_specification: ServiceSpecificationRefInput | None = _opt()


@strawberry.input(description="A new service (TMF640 Service_Create).")
class ServiceCreateInput(ServiceFieldsInput):
    state: ServiceStateType
    service_specification: ServiceSpecificationRefInput
    id: str | None = _opt("The id to create the service under (generated when omitted)")
    service_date: str | None = _opt()


@strawberry.input(
    description="A typed JSON Merge Patch of a service (TMF640 Service_Update): given fields replace the stored "
    "ones, an explicit null removes the attribute, omitted fields stay as they are."
)
class ServiceUpdateInput(ServiceFieldsInput):
    state: ServiceStateType | None = _opt()
    service_specification: ServiceSpecificationRefInput | None = _opt()


@strawberry.enum(description="A JSON Patch (RFC 6902) operation.")
class JsonPatchOp(enum.Enum):
    add = "add"
    remove = "remove"
    replace = "replace"
    move = "move"
    copy = "copy"
    test = "test"


@strawberry.input(description="One JSON Patch (RFC 6902) operation on the service's TMF document.")
class JsonPatchOperationInput:
    op: JsonPatchOp
    path: str = strawberry.field(description="JSON Pointer, e.g. /serviceCharacteristic/0/value")
    from_: str | None = strawberry.field(name="from", default=UNSET, description="Source pointer of move/copy")
    value: JSON | None = strawberry.field(default=UNSET, description="The value of add, replace and test")

    def tmf(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op.value, "path": self.path}
        if self.from_ is not UNSET:
            out["from"] = self.from_
        if self.value is not UNSET:
            out["value"] = self.value
        return out
