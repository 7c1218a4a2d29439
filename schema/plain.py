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
the object (`_object_from_raw`, one generated function per selection, `_compile`). A selection of TMF
attributes only, on an object none of whose selected attributes was read yet, is answered from its document
at once (`Plan.whole`, `from_its_document`), a Service of a tree as much as a nested feature. The answer is
the one the objects would give, field for field: the same converters run on the same values.

The fast path never reports an error itself. Anything unexpected (a null in a non-null position, a value the
scalar refuses, an object that is not of its type, a value that is not a list) abandons it for that field,
and graphql-core executes the field again from the start, reporting exactly what it always did. A plain read
has no side effect but a cached conversion, so reading twice is harmless.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import cache
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

from schema.convert import (
    bool_or_none,
    converts_to,
    from_document,
    instant,
    object_class,
    reader,
    same,
    text_or_none,
    undeclared,
)

BASIC_RESOLVER = "_get_basic_result"  # the name of Strawberry's resolver for a field without one of its own
ALLOWED_DIRECTIVES = frozenset({"skip", "include"})  # applied when fields are collected; nothing left to do
Raw = Callable[[Any], Any]  # a stored value (or the whole document) -> the completed answer, or raises Slow
DATES_KEPT = 4096  # date-time texts whose answers are remembered (`_remembered`)


class Leaf(NamedTuple):
    name: str  # the Python attribute
    resolve: Any  # Strawberry's basic resolver: (source, info) -> the attribute (info unused)
    cls: Any  # the Python class of the parent type's objects when it is a `@tmf_type`, else None
    read: Any  # for an object of exactly `cls`: object -> the attribute, as `resolve` would
    key: str | None  # the TMF key the attribute derives from (None: from the whole document)
    raw: Raw | None  # for an object of exactly `cls` not holding the attribute yet: its answer from the document
    leaf: GraphQLLeafType
    non_null: bool
    convert: Raw | None = None  # the attribute's converter (schema.convert), when `raw` is not None


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
    plan: Plan  # of the selection on the object (or each)


Step = tuple[str, Any, Leaf | Tree | None]  # response name, field details list, how to complete it (None: slow)


class Plan(NamedTuple):
    """How to complete each field of a selection; and, when every field is a TMF attribute, the whole answer for
    an object of the type from its document at once."""

    steps: list[Step]
    whole: Raw | None = None  # document -> the answer (None: some field is not a TMF attribute of the type)
    own: Any = None  # with `whole`: the class of the type's objects (a `@tmf_type`)
    attributes: frozenset[str] = frozenset()  # with `whole`: the Python names of the selected attributes
    is_type_of: Any = None  # with `whole`: the type's check of an object, if it has one


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


def plan_selection(executor: Any, parent_type: GraphQLObjectType, grouped_field_set: Any, fast: bool) -> Plan:
    """The plan of a selection of `parent_type` (`fast` False: every field on graphql-core's path)."""
    steps: list[Step] = [(name, details, plan_field(executor, parent_type, details) if fast else None)
                         for name, details in grouped_field_set.items()]
    whole = _object_from_raw(parent_type, steps, of_objects=True)
    if whole is None:
        return Plan(steps)
    attributes = frozenset(cast(Leaf | Tree, kind).name for _, _, kind in steps)
    return Plan(steps, whole, _origin(parent_type), attributes, parent_type.is_type_of)


def from_its_document(plan: Plan, obj: Any) -> dict[str, Any] | None:
    """The answer of a whole selection for `obj` straight from its document, when it has one, is of the type (as
    graphql-core checks it) and no selected attribute was read (converted) yet; else, or when a value needs
    graphql-core's error, None."""
    if type(obj) is not plan.own or plan.whole is None or not plan.attributes.isdisjoint(values := obj.__dict__):
        return None
    doc = values.get("tmf")
    if not isinstance(doc, dict) or (plan.is_type_of is not None and not plan.is_type_of(obj, None)):
        return None
    try:
        answer: dict[str, Any] = plan.whole(doc)
    except Slow:
        return None
    return answer


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
        return Leaf(name, resolve, cls, read, key, raw, gtype, non_null, derive[1] if derive else None)
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
    plan: Plan = executor.plan(gtype, grouped)
    if any(kind is None for _, _, kind in plan.steps):
        return None
    raw = None
    if derive is not None and key is not None and plan.whole is not None and gtype.is_type_of is None \
            and object_class(derive[1]) == (_origin(gtype), is_list):
        raw = _objects_from_raw(plan.whole, non_null, is_list)
    return Tree(name, resolve, cls, read, key, raw, gtype, non_null, is_list, item_non_null, plan)


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


def _object_from_raw(object_type: GraphQLObjectType, steps: list[Step], of_objects: bool = False) -> Raw | None:
    """The answer for an object of `object_type` from its document, when every selected field derives from it.
    Not for a type with an `is_type_of` check, unless `of_objects` (the caller checks the object first)."""
    if object_type.is_type_of is not None and not of_objects:
        return None
    entries: list[tuple[str, Leaf | Tree]] = []
    for response_name, _, kind in steps:
        if kind is None or kind.raw is None or kind.cls is not _origin(object_type):
            return None
        entries.append((response_name, kind))
    return _compile(entries)


def _compile(entries: list[tuple[str, Leaf | Tree]]) -> Raw:
    """`doc -> {response name: answer}` as one generated function, each answer written inline where its
    completion is a check and a read (`_inline`), else a call of its `raw`. Names are GraphQL names and TMF keys,
    written with repr()."""
    namespace: dict[str, Any] = {"isinstance": isinstance, "str": str, "bool": bool, "dict": dict, "list": list,
                                 "undeclared": undeclared}
    items = []
    for i, (name, kind) in enumerate(entries):
        read = f"get({kind.key!r})" if kind.key is not None else "doc"
        items.append(f"{name!r}: {_inline(i, kind, read, namespace)}")
    source = "def complete_object(doc):\n    get = doc.get\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, "<schema.plain>", "exec"), namespace)  # generated from the plan above
    complete_object: Raw = namespace["complete_object"]
    return complete_object


def _inline(i: int, kind: Leaf | Tree, read: str, namespace: dict[str, Any]) -> str:
    """The expression answering entry `i` from `read` (its stored value, or the document), as its `raw` would.

    Written inline for a nullable field: text and booleans (an isinstance check), a JSON value (the value),
    `extensions` (the undeclared attributes), an enum (a dict from stored text to answer, made with the same
    converter and coercion), a nested object or list of objects (its completion per dict). Others, and every
    non-null field (which may need graphql-core's error), call `raw`; a date-time's answer is remembered per text.
    """
    raw = kind.raw
    if raw is text_or_none or raw is bool_or_none:
        return f"v if isinstance(v := {read}, {'str' if raw is text_or_none else 'bool'}) else None"
    if not kind.non_null:
        if isinstance(kind, Tree) and kind.raw is not None and kind.plan.whole is not None:
            namespace[f"f{i}"] = kind.plan.whole
            if kind.is_list:
                return f"[f{i}(x) for x in v if isinstance(x, dict)] if isinstance(v := {read}, list) else None"
            return f"f{i}(v) if isinstance(v := {read}, dict) else None"
        if isinstance(kind, Leaf) and kind.convert is not None:
            enum_kind, declared = converts_to(kind.convert)
            if declared is not None and _passes_through(kind.leaf):
                namespace[f"k{i}"] = declared
                return f"undeclared(doc, k{i})"
            if kind.convert is same and _passes_through(kind.leaf):
                return read
            answers = _enum_answers(enum_kind, kind.convert, kind.leaf) if enum_kind is not None else None
            if answers is not None:
                namespace[f"m{i}"] = answers
                return f"m{i}.get(v) if isinstance(v := {read}, str) else None"
            if kind.convert is instant:
                raw = _remembered(kind.leaf)
    namespace[f"r{i}"] = raw
    return f"r{i}({read})"


def _passes_through(leaf: GraphQLLeafType) -> bool:
    """True for Strawberry's JSON scalar, whose answer is the value itself."""
    probes: list[Any] = [{"a": [1]}, [None], "s", 1, 2.5, True]
    return leaf.name == "JSON" and all(leaf.coerce_output_value(p) is p for p in probes)


def _enum_answers(kind: type[enum.Enum], convert: Raw, leaf: GraphQLLeafType) -> dict[str, Any] | None:
    """Stored text -> answer, for each value of an enum of text values (None when one is not text, or has no
    answer): what converting and coercing gives, computed once."""
    answers = {}
    for member in kind:
        coerced = leaf.coerce_output_value(convert(member.value))
        if not isinstance(member.value, str) or coerced is None or coerced is Undefined:
            return None
        answers[member.value] = coerced
    return answers


@cache
def _remembered(leaf: GraphQLLeafType) -> Raw:
    """A nullable date-time's answer from its stored text, remembered per text (a tree repeats a few dates):
    at most DATES_KEPT texts, then forgotten at once."""
    complete = _leaf_from_raw(instant, leaf, False)
    answers: dict[str, Any] = {}

    def remembered(value: Any) -> Any:
        if type(value) is not str:
            return complete(value)
        found = answers.get(value)
        if found is None:
            found = complete(value)
            if len(answers) >= DATES_KEPT:
                answers.clear()
            answers[value] = found
        return found

    return remembered


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
    answer = from_its_document(kind.plan, obj)
    if answer is not None:
        return answer
    is_type_of = kind.object_type.is_type_of
    if is_type_of is not None and not is_type_of(obj, None):  # type: ignore[arg-type]  # Strawberry's do not read it
        raise Slow
    return {name: value(cast(Leaf | Tree, sub), obj) for name, _, sub in kind.plan.steps}  # planned: none is None
