"""Filter and sort inputs, translated into the neutral `ListQuery` conditions the REST layer also produces.

Each input field becomes one `Condition`; different fields AND, several values of one field OR (as in REST).
`where` reaches any attribute path with any operator, like a REST query string does.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import strawberry

from resolvers.rules.errors import InvalidQuery
from resolvers.rules.query_check import Condition, SortKey
from schema.enums import MonitorState, SortField, values
from schema.tmf import ServiceStateType


@strawberry.enum(description="Comparison of a filter: equality, order (instants, numbers or text) or regex.")
class FilterOp(enum.Enum):
    EQ = "eq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    REGEX = "regex"


@strawberry.input(description="Any attribute by its dotted TMF path, as in REST filtering (e.g. note.author).")
class AttributeFilter:
    path: str = strawberry.field(description="Dotted TMF path; arrays are looked through (relatedParty.role)")
    op: FilterOp = FilterOp.EQ
    values: list[str] = strawberry.field(description="Any of these values matches (one value for regex)")


@strawberry.input(description="An instant range; either end may be left open. Both ends are inclusive.")
class DateRange:
    from_: datetime | None = strawberry.field(name="from", default=None)
    to: datetime | None = None


@strawberry.input(
    description="A service characteristic by name, and optionally value. Like REST's serviceCharacteristic.name="
    "&serviceCharacteristic.value= filters, name and value may match different characteristics of one service."
)
class CharacteristicFilter:
    name: str
    value: str | None = strawberry.field(default=None, description="Compared as instant, number or text")


@strawberry.input(description="Services matching every given field (several values of one field: any of them).")
class ServiceFilter:
    ids: list[strawberry.ID] | None = None
    states: list[ServiceStateType] | None = None
    name: str | None = None
    name_matches: str | None = strawberry.field(default=None, description="Regular expression on the name")
    category: list[str] | None = None
    service_type: list[str] | None = None
    type: list[str] | None = strawberry.field(default=None, description="@type, e.g. a subclass")
    is_bundle: bool | None = None
    related_party_id: list[str] | None = None
    specification_id: list[str] | None = None
    specification_name: list[str] | None = None
    characteristic: list[CharacteristicFilter] | None = None
    start_date: DateRange | None = None
    end_date: DateRange | None = None
    where: list[AttributeFilter] | None = None

    def conditions(self) -> list[Condition]:
        out: list[Condition] = []
        _eq(out, ("id",), _ids(self.ids))
        _eq(out, ("state",), [s.value for s in self.states] if self.states is not None else None)
        _eq(out, ("name",), [self.name] if self.name is not None else None)
        if self.name_matches is not None:
            out.append(Condition(("name",), "regex", (self.name_matches,)))
        _eq(out, ("category",), self.category)
        _eq(out, ("serviceType",), self.service_type)
        _eq(out, ("@type",), self.type)
        _eq(out, ("isBundle",), None if self.is_bundle is None else ["true" if self.is_bundle else "false"])
        _eq(out, ("relatedParty", "id"), self.related_party_id)
        _eq(out, ("serviceSpecification", "id"), self.specification_id)
        _eq(out, ("serviceSpecification", "name"), self.specification_name)
        for char in self.characteristic or []:
            out.append(Condition(("serviceCharacteristic", "name"), "eq", (char.name,)))
            if char.value is not None:
                out.append(Condition(("serviceCharacteristic", "value"), "eq", (char.value,)))
        _range(out, ("startDate",), self.start_date)
        _range(out, ("endDate",), self.end_date)
        out.extend(_where(self.where))
        return out


@strawberry.input(description="Monitors matching every given field.")
class MonitorFilter:
    ids: list[strawberry.ID] | None = None
    states: list[MonitorState] | None = None
    source_href: list[str] | None = None
    held: bool | None = strawberry.field(default=None, description="true: only work held for an operator")
    jeopardy: bool | None = strawberry.field(default=None, description="true: only work flagged in jeopardy")
    where: list[AttributeFilter] | None = None

    def conditions(self) -> list[Condition]:
        out: list[Condition] = []
        _eq(out, ("id",), _ids(self.ids))
        _eq(out, ("state",), values(self.states))
        _eq(out, ("sourceHref",), self.source_href)
        _eq(out, ("held",), None if self.held is None else [str(self.held).lower()])
        _eq(out, ("jeopardy",), None if self.jeopardy is None else [str(self.jeopardy).lower()])
        out.extend(_where(self.where))
        return out


@strawberry.input(description="Sort by a common attribute (`field`) or by any dotted TMF path (`path`, e.g. "
                  "note.author): give exactly one.")
class SortBy:
    field: SortField | None = None
    path: str | None = strawberry.field(default=None, description="Dotted TMF path (arrays are looked through)")
    descending: bool = False

    def dotted(self) -> str:
        if (self.field is None) == (self.path is None):
            raise InvalidQuery("sort", "give exactly one of field and path")
        return self.field.value if self.field is not None else str(self.path)


def sort_keys(sort: list[SortBy] | None) -> tuple[SortKey, ...]:
    return tuple(SortKey(tuple(s.dotted().split(".")), s.descending) for s in sort or [])


def _ids(ids: list[strawberry.ID] | None) -> list[str] | None:
    return None if ids is None else [str(i) for i in ids]


def _eq(out: list[Condition], path: tuple[str, ...], values: list[str] | None) -> None:
    # An empty list is kept: the resolver refuses it by name ("needs a value") rather than matching everything.
    if values is not None:
        out.append(Condition(path, "eq", tuple(values)))


def _instant(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.isoformat()


def _range(out: list[Condition], path: tuple[str, ...], window: DateRange | None) -> None:
    if window is None:
        return
    if window.from_ is not None:
        out.append(Condition(path, "gte", (_instant(window.from_),)))
    if window.to is not None:
        out.append(Condition(path, "lte", (_instant(window.to),)))


def _where(filters: list[AttributeFilter] | None) -> list[Condition]:
    return [Condition(tuple(f.path.split(".")), f.op.value, tuple(f.values)) for f in filters or []]
