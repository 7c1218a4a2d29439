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

TMF attributes not yet read are completed straight from the document: the attribute's converter and the
type's coercion composed (`_leaf_from_raw`), and a nested TMF object completed from its dict without building
the object (`_object_from_raw`). The answer is the one the objects would give, field for field: the same
converters run on the same values.

The fast path never reports an error itself. Anything unexpected (a null in a non-null position, a value the
scalar refuses, an object that is not of its type, a value that is not a list) abandons it for that field,
and graphql-core executes the field again from the start, reporting exactly what it always did. A plain read
has no side effect but a cached conversion, so reading twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from schema.convert import bool_or_none, from_document, object_class, reader, text_or_none

BASIC_RESOLVER = "_get_basic_result"  # the name of Strawberry's resolver for a field without one of its own
ALLOWED_DIRECTIVES = frozenset({"skip", "include"})  # applied when fields are collected; nothing left to do
Raw = Callable[[Any], Any]  # a stored value (or the whole document) -> the completed answer, or raises Slow


class Leaf(NamedTuple):
    name: str  # the Python attribute
    resolve: Any  # Strawberry's basic resolver: (source, info) -> the attribute (info unused)
    cls: Any  # the Python class of the parent type's objects when it is a `@tmf_type`, else None
    read: Any  # for an object of exactly `cls`: object -> the attribute, as `resolve` would
    key: str | None  # the TMF key the attribute derives from (None: from the whole document)
    raw: Raw | None  # for an object of exactly `cls` not holding the attribute yet: its answer from the document
    leaf: GraphQLLeafType
    non_null: bool


class Tree(NamedTuple):
    name: str
    resolve: Any
    cls: Any
    read: Any
    key: str | None
    raw: Raw | None
    object_type: GraphQLObjectType
    non_null: bool
    is_list: bool
    item_non_null: bool
    steps: list[Step]
    from_dict: Raw | None  # the answer for an object of this type given by its document (None: not TMF)


Step = tuple[str, Any, Leaf | Tree | None]  # response name, field details list, how to complete it (None: slow)


class Slow(Exception):
    """Leave this field to graphql-core."""


def _origin(gtype: GraphQLObjectType) -> Any:
    return getattr((gtype.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF), "origin", None)


def _accessor(parent_type: GraphQLObjectType, field_details_list: Any) -> tuple[Any, str, Any, Any, Any] | None:
    """(field definition, Python name, resolve, class, read) of a plain field, or None."""
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
    origin = _origin(parent_type)
    read = reader(origin, definition.python_name) if definition.default_resolver is getattr else None
    return field_def, definition.python_name, resolve, origin if read is not None else None, read


def plan_field(executor: Any, parent_type: GraphQLObjectType, field_details_list: Any) -> Leaf | Tree | None:
    """How to complete this field of `parent_type` on the fast path, or None (graphql-core's path)."""
    found = _accessor(parent_type, field_details_list)
    if found is None:
        return None
    field_def, name, resolve, cls, read = found
    derive = from_document(cls, name) if cls is not None else None
    key = derive[0] if derive else None
    gtype = field_def.type
    non_null = isinstance(gtype, GraphQLNonNull)
    gtype = gtype.of_type if non_null else gtype
    if is_leaf_type(gtype):
        raw = _leaf_from_raw(derive[1], gtype, non_null) if derive else None
        return Leaf(name, resolve, cls, read, key, raw, gtype, non_null)
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
    from_dict = _object_from_raw(gtype, steps)
    raw = None
    if derive is not None and key is not None and from_dict is not None \
            and object_class(derive[1]) == (_origin(gtype), is_list):
        raw = _objects_from_raw(from_dict, non_null, is_list)
    return Tree(name, resolve, cls, read, key, raw, gtype, non_null, is_list, item_non_null, steps, from_dict)


def _leaf_from_raw(convert: Raw, leaf: GraphQLLeafType, non_null: bool) -> Raw:
    """convert, then coerce: the answer of a leaf from its stored value (or the document, for `extensions`)."""
    if leaf in (GraphQLString, GraphQLID) and convert is text_or_none and not non_null:
        return text_or_none  # String and ID coerce a str to itself: the conversion is the answer
    if leaf is GraphQLBoolean and convert is bool_or_none and not non_null:
        return bool_or_none
    coerce = leaf.coerce_output_value

    def complete_leaf(value: Any) -> Any:
        converted = None if value is None else convert(value)
        if converted is None:
            if non_null:
                raise Slow
            return None
        coerced = coerce(converted)
        if coerced is None or coerced is Undefined:
            raise Slow
        return coerced

    return complete_leaf


def _object_from_raw(object_type: GraphQLObjectType, steps: list[Step]) -> Raw | None:
    """The answer for an object of `object_type` from its document, when every selected field derives from it."""
    if object_type.is_type_of is not None:
        return None
    entries: list[tuple[str, str | None, Raw]] = []
    for response_name, _, kind in steps:
        if kind is None or kind.raw is None or kind.cls is not _origin(object_type):
            return None
        entries.append((response_name, kind.key, kind.raw))

    return _compile(entries)


def _compile(entries: list[tuple[str, str | None, Raw]]) -> Raw:
    """`doc -> {response name: raw(doc.get(key))}` as one generated function: no loop, no call per text or
    boolean leaf (their conversion, an isinstance check, is written inline). Names are GraphQL names and TMF
    keys, written with repr()."""
    namespace: dict[str, Any] = {"isinstance": isinstance, "str": str, "bool": bool}
    items = []
    for i, (name, key, raw) in enumerate(entries):
        read = f"get({key!r})" if key is not None else "doc"
        if raw is text_or_none or raw is bool_or_none:
            kind = "str" if raw is text_or_none else "bool"
            items.append(f"{name!r}: v if isinstance(v := {read}, {kind}) else None")
        else:
            namespace[f"r{i}"] = raw
            items.append(f"{name!r}: r{i}({read})")
    source = "def complete_object(doc):\n    get = doc.get\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, "<schema.plain>", "exec"), namespace)  # generated from the plan above
    complete_object: Raw = namespace["complete_object"]
    return complete_object


def _objects_from_raw(from_dict: Raw, non_null: bool, is_list: bool) -> Raw:
    """The answer of an object field from its stored value: the dict as an object, or each dict of a list (the
    converter keeps those, in order), anything else null."""
    if is_list:
        def complete_list(value: Any) -> Any:
            if isinstance(value, list):
                return [from_dict(item) for item in value if isinstance(item, dict)]
            if non_null:
                raise Slow
            return None

        return complete_list

    def complete_one(value: Any) -> Any:
        if isinstance(value, dict):
            return from_dict(value)
        if non_null:
            raise Slow
        return None

    return complete_one


def value(kind: Leaf | Tree, source: Any) -> Any:
    """The answer of a planned field of `source`, or `Slow`."""
    if type(source) is kind.cls:
        values = source.__dict__
        if kind.raw is not None and kind.name not in values:  # not converted yet: from the document
            doc = values["tmf"]
            return kind.raw(doc.get(kind.key) if kind.key is not None else doc)
        found = kind.read(source)
    else:
        found = kind.resolve(source, None)
    return _complete(kind, found)


def _complete(kind: Leaf | Tree, found: Any) -> Any:
    if found is None or found is Undefined:
        if kind.non_null:
            raise Slow
        return None
    if isinstance(found, Exception):
        raise Slow
    if isinstance(kind, Leaf):
        coerced = kind.leaf.coerce_output_value(found)
        if coerced is None or coerced is Undefined:
            raise Slow
        return coerced
    if not kind.is_list:
        return _object(kind, found)
    if not isinstance(found, list):
        raise Slow
    out: list[dict[str, Any] | None] = []
    for item in found:
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
    if is_type_of is not None and not is_type_of(obj, None):  # type: ignore[arg-type]  # Strawberry's do not read it
        raise Slow
    return {name: value(cast(Leaf | Tree, sub), obj) for name, _, sub in kind.steps}  # planned: none is None
