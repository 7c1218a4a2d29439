"""Scalars: `DateTime` as RFC 3339 (ISO 8601) with `Z` for UTC, the form TMF documents and REST use."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition


def serialize(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"DateTime expects an ISO 8601 string; got {value!r}")
    return datetime.fromisoformat(value)


DateTime = strawberry.scalar(
    name="DateTime",
    description="Date with time (RFC 3339 / ISO 8601, e.g. 2026-03-01T08:00:00Z); UTC is written with Z",
    serialize=serialize,
    parse_value=parse,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
