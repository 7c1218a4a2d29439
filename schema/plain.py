"""Plain fields completed without graphql-core's per-field machinery (used by schema.execution).

A field is plain when Strawberry reads it with its default resolver (no resolver of its own, no field
extension, no arguments, no directive but @skip/@include): TMF attributes are such fields (schema.convert).
graphql-core executes each field through `execute_field` (a `Path`, a resolve info of fourteen entries, the
resolver call, `complete_value`, `collect_subfields` per object, a `Path` per list item), several
microseconds of bookkeeping per field whose work is one attribute read. Here a selection is planned once:

- a plain leaf (scalar or enum) is read and coerced directly;
- a plain object field (an object type, or a list of one) whose whole sub-selection is plain, recursively,
  is completed as a tree of reads, e.g. `serviceCharacteristic { name value characteristicRelationship { id } }`;
- anything else (a resolver, arguments, an abstract type, a list of lists, @defer/@stream) is left to
  graphql-core.

The fast path never reports an error itself. Anything unexpected (a null in a non-null position, a value the
scalar refuses, an object that is not of its type, a value that is not a list) abandons it for that field,
and graphql-core executes the field again from the start, reporting exactly what it always did. A plain read
has no side effect but a cached conversion, so reading twice is harmless.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from schema.convert import reader

BASIC_RESOLVER = "_get_basic_result"  # the name of Strawberry's resolver for a field without one of its own
ALLOWED_DIRECTIVES = frozenset({"skip", "include"})  # applied when fields are collected; nothing left to do


class Leaf(NamedTuple):
    resolve: Any  # Strawberry's basic resolver: (source, info) -> the attribute (info unused)
    cls: Any  # the Python class of the parent type's objects when it is a `@tmf_type`, else None
    read: Any  # for an object of exactly `cls`: object -> the attribute, as `resolve` would
    leaf: GraphQLLeafType
    non_null: bool


class Tree(NamedTuple):
    resolve: Any
    cls: Any
    read: Any
    object_type: GraphQLObjectType
    non_null: bool
    is_list: bool
    item_non_null: bool
    steps: list[Step]


Step = tuple[str, Any, Leaf | Tree | None]  # response name, field details list, how to complete it (None: slow)


class Slow(Exception):
    """Leave this field to graphql-core."""


def _accessor(parent_type: GraphQLObjectType, field_details_list: Any) -> tuple[Any, Any, Any, Any] | None:
    """(field definition, resolve, class, read) of a plain field, or None."""
    for details in field_details_list:
        node = details.node
        if node.arguments or any(d.name.value not in ALLOWED_DIRECTIVES for d in node.directives or ()):
            return None
    field_def = parent_type.fields.get(field_details_list[0].node.name.value)
    if field_def is None or field_def.args:
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field_def.resolve
    if definition is None or not getattr(definition, "is_basic_field", False) \
            or getattr(resolve, "__name__", None) != BASIC_RESOLVER:
        return None
    origin = getattr((parent_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF), "origin", None)
    read = reader(origin, definition.python_name) if definition.default_resolver is getattr else None
    return field_def, resolve, origin if read is not None else None, read


def plan_field(executor: Any, parent_type: GraphQLObjectType, field_details_list: Any) -> Leaf | Tree | None:
    """How to complete this field of `parent_type` on the fast path, or None (graphql-core's path)."""
    found = _accessor(parent_type, field_details_list)
    if found is None:
        return None
    field_def, resolve, cls, read = found
    gtype = field_def.type
    non_null = isinstance(gtype, GraphQLNonNull)
    gtype = gtype.of_type if non_null else gtype
    if is_leaf_type(gtype):
        return Leaf(resolve, cls, read, gtype, non_null)
    is_list = isinstance(gtype, GraphQLList)
    item_non_null = False
    if is_list:
        gtype = gtype.of_type
        item_non_null = isinstance(gtype, GraphQLNonNull)
        gtype = gtype.of_type if item_non_null else gtype
    if not isinstance(gtype, GraphQLObjectType):
        return None
    grouped, defer_usages, _ = executor.collect_subfields(gtype, field_details_list)
    if defer_usages:
        return None
    steps = executor.plan(gtype, grouped)
    if any(kind is None for _, _, kind in steps):
        return None
    return Tree(resolve, cls, read, gtype, non_null, is_list, item_non_null, steps)


def read(kind: Leaf | Tree, source: Any) -> Any:
    return kind.read(source) if type(source) is kind.cls else kind.resolve(source, None)


def complete(kind: Leaf | Tree, value: Any) -> Any:
    """The completed value of a plain field, or `Slow`."""
    if value is None or value is Undefined:
        if kind.non_null:
            raise Slow
        return None
    if isinstance(value, Exception):
        raise Slow
    if isinstance(kind, Leaf):
        coerced = kind.leaf.coerce_output_value(value)
        if coerced is None or coerced is Undefined:
            raise Slow
        return coerced
    if not kind.is_list:
        return _object(kind, value)
    if not isinstance(value, list):
        raise Slow
    out = []
    for item in value:
        if item is None or item is Undefined:
            if kind.item_non_null:
                raise Slow
            out.append(None)
        else:
            out.append(_object(kind, item))
    return out


def _object(kind: Tree, obj: Any) -> dict[str, Any]:
    if isinstance(obj, Exception):
        raise Slow
    is_type_of = kind.object_type.is_type_of
    if is_type_of is not None and not is_type_of(obj, None):  # Strawberry's checks ignore the info
        raise Slow
    out: dict[str, Any] = {}
    for name, _, sub in kind.steps:
        out[name] = complete(sub, read(sub, obj))  # type: ignore[arg-type]  (planned: never None)
    return out
