"""GraphQL types over TMF documents (the rendered dicts REST returns): TMF attributes are plain data.

`@tmf_type` declares a strawberry type whose annotated fields are TMF attributes. An object wraps its document
(`tmf`); each attribute is an ordinary instance attribute, converted from the document the first time it is
read and kept (`__getattr__` runs only for an attribute not yet set). GraphQL reads it with the default
resolver like any plain field: no Python resolver, no `Info`, no argument parsing per field, and a query
still pays only for the attributes it selects. Python resolvers remain for navigation, loaders and computed
fields.

A field reads the TMF attribute of the same camelCase name; `type`, `base_type`, `schema_location` and
`referred_type` read `@type`, `@baseType`, `@schemaLocation` and `@referredType`; `__tmf_keys__` renames
further (python name -> TMF key). `extensions` gives the attributes the type does not declare (subclass and
unknown ones, null if none) and `document` the whole dict. A value of the wrong JSON type reads as null on
its typed field; `document` and the REST representation still have it as sent.

Each type's conversion is planned once (`_plan`): one converter function per field, built from its type hint.
GraphQL execution goes one step further for plain selections (schema.plain): it completes an answer straight
from the document with the same converters (`from_document`), without building the nested objects.
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
Converter = Callable[[Any], Any]  # a stored JSON value (never None) -> the field's value, or None

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
    fields: dict[str, tuple[str, Converter]]  # python name -> (TMF key, converter)
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
        name: (renames.get(name) or POLYMORPHIC.get(name) or camel(name), _converter(hints[name]))
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


def same(value: Any) -> Any:
    return value


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@cache
def _converter(hint: Any) -> Converter:
    """The function that turns a stored value into the value of a field typed `hint` (cached per hint)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _converter(inner[0])
    if hint is datetime:
        return instant
    if hint is JSON:
        return same
    if origin is list:
        (item,) = typing.get_args(hint)
        return _list_of(_converter(item))
    if hint in (str, strawberry.ID):
        return text_or_none
    if hint is bool:
        return bool_or_none
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_of(hint)
    if isinstance(hint, type) and hasattr(hint, "__tmf_lazy__"):
        return _object_of(hint)
    raise TypeError(f"no TMF conversion for {hint!r}")


def _list_of(item: Converter) -> Converter:
    def convert(value: Any) -> list[Any] | None:
        if not isinstance(value, list):
            return None
        out = []
        for x in value:
            if x is not None:
                converted = item(x)
                if converted is not None:
                    out.append(converted)
        return out

    convert.__tmf_class__ = getattr(item, "__tmf_class__", None)  # type: ignore[attr-defined]
    convert.__tmf_list__ = True  # type: ignore[attr-defined]
    return convert


def _enum_of(kind: type[enum.Enum]) -> Converter:
    def convert(value: Any) -> enum.Enum | None:
        try:
            return kind(value)
        except ValueError:
            return None

    convert.__tmf_enum__ = kind  # type: ignore[attr-defined]
    return convert


def _object_of(cls: Any) -> Converter:
    def convert(value: Any) -> Any:
        return from_tmf(cls, value) if isinstance(value, dict) else None

    convert.__tmf_class__ = cls  # type: ignore[attr-defined]
    return convert


def undeclared(doc: dict[str, Any], keys: frozenset[str]) -> dict[str, Any] | None:
    """`extensions`: the attributes of `doc` outside `keys`, in the document's order; None if there are none."""
    if keys.issuperset(doc):  # the usual case, checked without a dict built
        return None
    return {k: v for k, v in doc.items() if k not in keys}


def _attribute(self: Any, name: str) -> Any:
    """`__getattr__` of every `@tmf_type`: converts a TMF attribute on its first read and keeps it."""
    if name.startswith("_") or name == "tmf":
        raise AttributeError(name)
    try:
        doc: dict[str, Any] = self.__dict__["tmf"]
    except KeyError:
        raise AttributeError(name) from None
    cls: Any = type(self)
    plan = _plan(cls)
    found = plan.fields.get(name)
    if found is not None:
        key, convert = found
        stored = doc.get(key)
        value = None if stored is None else convert(stored)
    elif name == "extensions" and name in cls.__tmf_lazy__:
        value = undeclared(doc, plan.keys)
    elif name == "document" and name in cls.__tmf_lazy__:
        value = doc
    else:
        raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
    self.__dict__[name] = value
    return value


def reader(cls: Any, name: str) -> Callable[[Any], Any] | None:
    """A function reading attribute `name` of an object of exactly the `@tmf_type` class `cls`, as `getattr`
    would, without the failed lookup that leads to `__getattr__` (None: `name` is not a TMF attribute of
    `cls`). For graphql execution (schema.execution), which reads every selected attribute once."""
    lazy = getattr(cls, "__tmf_lazy__", None)
    if lazy is None or name not in lazy:
        return None
    if name in SPECIAL:
        return lambda obj: getattr(obj, name)
    key, convert = _plan(cls).fields[name]

    def read(obj: Any) -> Any:
        values = obj.__dict__
        if name in values:
            return values[name]
        stored = values["tmf"].get(key)
        value = None if stored is None else convert(stored)
        values[name] = value
        return value

    return read


def from_document(cls: Any, name: str) -> tuple[str | None, Converter] | None:
    """How attribute `name` of a `@tmf_type` `cls` derives from the document, for code that completes answers
    straight from documents (schema.plain): (TMF key, converter), the value being None for a missing or null
    key and the converter's result otherwise; or (None, function of the whole document) for `extensions` and
    `document`; None when `name` is not a TMF attribute of `cls`."""
    lazy = getattr(cls, "__tmf_lazy__", None)
    if lazy is None or name not in lazy:
        return None
    plan = _plan(cls)
    if name == "extensions":
        keys = plan.keys

        def extensions(doc: dict[str, Any]) -> dict[str, Any] | None:
            return undeclared(doc, keys)

        extensions.__tmf_declared__ = keys  # type: ignore[attr-defined]
        return None, extensions
    if name == "document":
        return None, same
    return plan.fields[name]


def converts_to(convert: Converter) -> tuple[type[enum.Enum] | None, frozenset[str] | None]:
    """What a converter is, for code that completes answers straight from documents (schema.plain): the enum
    it reads a value as (None if it reads none), the TMF keys it leaves out when it is `extensions` (None if
    it is not)."""
    return getattr(convert, "__tmf_enum__", None), getattr(convert, "__tmf_declared__", None)


def object_class(convert: Converter) -> tuple[Any, bool]:
    """The `@tmf_type` a converter builds objects of (None if it builds none), and whether it builds a list of
    them (of the dicts among the list's items, in order)."""
    return getattr(convert, "__tmf_class__", None), getattr(convert, "__tmf_list__", False)


def _is_private(annotation: Any) -> bool:
    # Annotations are still strings here (postponed evaluation); strawberry resolves them later.
    return "Private" in str(annotation)


def tmf_type(*, description: str | None = None, plain: tuple[str, ...] = ()) -> Callable[[type[T]], type[T]]:
    """Declare a strawberry type over a TMF document held in its private `tmf` field.

    Every annotated field is a TMF attribute read from the document (on first use), except those named in
    `plain` (ordinary fields given at construction), private ones and fields with a resolver. Fields may
    carry `strawberry.field(description=...)` but no default.
    """

    def wrap(cls: type[T]) -> type[T]:
        lazy = []
        for name, annotation in inspect.get_annotations(cls).items():
            if name in plain or _is_private(annotation):
                continue
            current = cls.__dict__.get(name)
            if isinstance(current, StrawberryField) and current.base_resolver is not None:
                continue
            lazy.append(name)
        inherited = [n for k in cls.__mro__[1:] for n in k.__dict__.get("__tmf_lazy__", ())]
        cls.__tmf_lazy__ = (*inherited, *lazy)  # type: ignore[attr-defined]
        cls.__getattr__ = _attribute  # type: ignore[attr-defined]
        return strawberry.type(cls, description=description)

    return wrap


def from_tmf(cls: type[T], doc: dict[str, Any], **plain: Any) -> T:
    """An object of the `@tmf_type` class `cls` over `doc` (cheap: attributes convert when first read).

    The dataclass `__init__` is bypassed: TMF attributes are not given, they are read from `doc`.
    """
    instance: T = object.__new__(cls)
    instance.__dict__.update(plain, tmf=doc)
    return instance
