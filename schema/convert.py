"""GraphQL types over TMF documents (the rendered dicts REST returns), read lazily, field by field.

`@tmf_type` declares a strawberry type whose annotated fields are TMF attributes: an object only wraps its
document (`tmf`), and a field converts its attribute when a query selects it, so a tree query pays for
what it asks and not for every nested attribute of every node.

A field reads the TMF attribute of the same camelCase name; `type`, `base_type`, `schema_location` and
`referred_type` read `@type`, `@baseType`, `@schemaLocation` and `@referredType`; `__tmf_keys__` renames
further (python name -> TMF key). `extensions` gives the attributes the type does not declare (subclass and
unknown ones, null if none) and `document` the whole dict. A value of the wrong JSON type reads as null on
its typed field; `document` and the REST representation still have it as sent.

In Python code, read an object's document (`obj.tmf`): its TMF fields are resolvers, not values.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types.field import StrawberryField

T = TypeVar("T")

POLYMORPHIC = {
    "type": "@type",
    "base_type": "@baseType",
    "schema_location": "@schemaLocation",
    "referred_type": "@referredType",
}
SPECIAL = ("extensions", "document")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclasses.dataclass(frozen=True)
class _Plan:
    fields: dict[str, tuple[str, Any]]  # python name -> (TMF key, type hint)
    keys: frozenset[str]


@cache
def _plan(cls: Any) -> _Plan:
    hints = typing.get_type_hints(cls, include_extras=True)
    lazy: set[str] = set()
    renames: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        lazy |= set(klass.__dict__.get("__tmf_lazy__", ()))
        renames.update(klass.__dict__.get("__tmf_keys__", {}))
    fields = {
        name: (renames.get(name) or POLYMORPHIC.get(name) or camel(name), hints[name])
        for name in lazy
        if name not in SPECIAL
    }
    return _Plan(fields, frozenset(key for key, _ in fields.values()))


def instant(value: object) -> datetime | None:
    """A stored ISO 8601 date-time as a DateTime; a value that is not one reads as null (`document` keeps it)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is datetime:
        return instant(value)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _value(inner[0], value)
    if hint is JSON:
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            return None
        return [v for v in (_value(item, x) for x in value) if v is not None]
    if hint in (str, strawberry.ID):
        return value if isinstance(value, str) else None
    if hint is bool:
        return value if isinstance(value, bool) else None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            return None
    if isinstance(hint, type) and hasattr(hint, "__tmf_lazy__"):
        return hint(tmf=value) if isinstance(value, dict) else None
    raise TypeError(f"no TMF conversion for {hint!r}")


def _read(root: strawberry.Parent[Any], info: strawberry.Info) -> Any:
    """The resolver of every TMF field: convert the attribute this field names, now that it is selected."""
    doc: dict[str, Any] = root.tmf
    name = info.python_name
    owner: Any = type(root)
    plan = _plan(owner)
    if name == "document":
        return doc
    if name == "extensions":
        return {k: v for k, v in doc.items() if k not in plan.keys} or None
    key, hint = plan.fields[name]
    return _value(hint, doc.get(key))


def _is_private(annotation: Any) -> bool:
    # Annotations are still strings here (postponed evaluation); strawberry resolves them later.
    return "Private" in str(annotation)


def tmf_type(*, description: str | None = None, plain: tuple[str, ...] = ()) -> Callable[[type[T]], type[T]]:
    """Declare a strawberry type over a TMF document held in its private `tmf` field.

    Every annotated field reads the document when selected, except those named in `plain` (ordinary
    fields given at construction) and private ones. Fields may still carry `strawberry.field(description=...)`.
    """

    def wrap(cls: type[T]) -> type[T]:
        lazy = []
        for name, annotation in inspect.get_annotations(cls).items():
            if name in plain or _is_private(annotation):
                continue
            current = cls.__dict__.get(name)
            if isinstance(current, StrawberryField):
                if current.base_resolver is not None:
                    continue
                setattr(cls, name, current(_read))
            else:
                setattr(cls, name, strawberry.field(resolver=_read))
            lazy.append(name)
        cls.__tmf_lazy__ = tuple(lazy)  # type: ignore[attr-defined]
        return strawberry.type(cls, description=description)

    return wrap


def from_tmf(cls: type[T], doc: dict[str, Any], **plain: Any) -> T:
    """An object of the `@tmf_type` class `cls` over `doc` (cheap: fields convert when selected)."""
    factory: Any = cls
    instance: T = factory(tmf=doc, **plain)
    return instance
