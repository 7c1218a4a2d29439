"""Input checked against the official TMF640 v4 document, read as a tolerant reader would.

The published schemas are used as they are, with the relaxations real clients need (REST_CONTRACT.md):
`relatedParty` without `@referredType`, a `serviceSpecification` named by `name` alone. Unknown attributes
are allowed everywhere; known ones must have their types. Messages name the attribute path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resolvers.rules.errors import ValidationFailed
from store.values import parse_instant

SWAGGER = Path(__file__).parent / "data" / "TMF640-ServiceActivation-v4.0.0.swagger.json"
NOT_PATCHABLE = ("id", "href", "serviceDate")

if TYPE_CHECKING:  # jsonschema is imported when the first document is checked, not when the server starts
    from jsonschema import Draft4Validator
    from jsonschema.exceptions import ValidationError


@cache
def swagger() -> dict[str, Any]:
    with SWAGGER.open(encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


@cache
def _definitions() -> dict[str, Any]:
    defs = copy.deepcopy(swagger()["definitions"])
    defs["RelatedParty"]["required"] = ["id"]
    spec = defs["ServiceSpecificationRef"]
    spec.pop("required", None)
    spec["anyOf"] = [{"required": ["id"]}, {"required": ["name"]}]
    return dict(defs)


def _is_instant(value: object) -> bool:
    return not isinstance(value, str) or parse_instant(value) is not None


@cache
def _validator(definition: str) -> Draft4Validator:
    from jsonschema import Draft4Validator, FormatChecker

    formats = FormatChecker(formats=())
    formats.checks("date-time")(_is_instant)
    return Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": _definitions()},
                           format_checker=formats)


def known_attributes(definition: str) -> frozenset[str]:
    """First-level attribute names of a published definition (allOf parts included)."""
    d = _definitions()[definition]
    names = set(d.get("properties", {}))
    for part in d.get("allOf", []):
        ref = part.get("$ref", "")
        if ref:
            names |= known_attributes(ref.rsplit("/", 1)[-1])
        names |= set(part.get("properties", {}))
    return frozenset(names)


def dotted(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: ValidationError) -> ValidationFailed:
    path = dotted(error.absolute_path)
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return ValidationFailed(f"{path}.{missing}" if path else missing, "is required")
    if error.validator == "anyOf" and path.endswith("serviceSpecification"):
        return ValidationFailed(path, "needs an id or a name")
    if error.validator == "format":
        return ValidationFailed(path, f"{error.instance!r} is not an ISO 8601 date-time")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return ValidationFailed(path, f"must be one of {allowed}; got {error.instance!r}")
    if error.validator == "type":
        return ValidationFailed(path, f"must be of type {error.validator_value}; got {json.dumps(error.instance)}")
    return ValidationFailed(path, error.message)


def _storable(text: str) -> bool:
    """False for text no database column holds: a NUL character, or a lone UTF-16 surrogate (from `\\ud800`)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable_path(value: Any, path: str = "") -> str | None:
    """The path of the first key or text that cannot be stored, or None."""
    if isinstance(value, str):
        return None if _storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not _storable(str(key)):
                return where
            found = _unstorable_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _unstorable_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


@cache
def _compiled(definition: str) -> Callable[[Any], Any]:
    """The same schema compiled to Python (fastjsonschema, imported when first needed): a quick yes."""
    import fastjsonschema

    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "$ref": f"#/definitions/{definition}",
              "definitions": _definitions()}
    check: Callable[[Any], Any] = fastjsonschema.compile(schema, formats={"date-time": _is_instant})
    return check


def _quickly_valid(definition: str, document: Any) -> bool:
    import fastjsonschema

    try:
        _compiled(definition)(document)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def validate(definition: str, document: Any, *, quick: bool = False) -> None:
    """Raise ValidationFailed for the first error (the shallowest, so the message is the most useful).

    `quick` (bulk import): a compiled validator of the same schema answers first; only a document it refuses
    is checked again here, for the message. For many documents that is several times faster.
    """
    if not isinstance(document, dict):
        raise ValidationFailed("", f"the body must be a JSON object, not {type(document).__name__}")
    if quick and _quickly_valid(definition, document):
        errors = []
    else:
        errors = sorted(_validator(definition).iter_errors(document), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        raise _message(errors[0])
    bad = _unstorable_path(document)
    if bad is not None:
        raise ValidationFailed(bad, "contains a NUL character or a lone surrogate, which cannot be stored")


@dataclass(frozen=True)
class PathSchema:
    """What the published document says about an attribute path, as far as it knows the path.

    `known` segments of the path are described by the schema; `schema` is the definition of the last of them
    (the whole resource when none is known). Arrays on the way are looked through, as filters do.
    """

    known: int
    schema: dict[str, Any]

    @property
    def scalar_type(self) -> str | None:
        kind = self.schema.get("type")
        return kind if kind in ("string", "boolean", "number", "integer") else None

    @property
    def free_form(self) -> bool:
        """True when the schema leaves the shape open below this point (e.g. a characteristic `value`)."""
        return self.scalar_type is None and not self.schema.get("properties")


def _resolved(node: dict[str, Any]) -> dict[str, Any]:
    defs = _definitions()
    while True:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        elif node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = node["items"]
        elif "allOf" in node:
            merged: dict[str, Any] = {"type": "object", "properties": {}}
            for part in node["allOf"]:
                merged["properties"].update(_resolved(part).get("properties", {}))
            merged["properties"].update(node.get("properties", {}))
            node = merged
        else:
            return node


def schema_at(definition: str, path: Sequence[str]) -> PathSchema:
    """How far the published `definition` describes `path`, and the schema where that knowledge ends."""
    node = _resolved({"$ref": f"#/definitions/{definition}"})
    for i, segment in enumerate(path):
        properties = node.get("properties") or {}
        if segment not in properties:
            return PathSchema(i, node)
        node = _resolved(properties[segment])
    return PathSchema(len(path), node)
