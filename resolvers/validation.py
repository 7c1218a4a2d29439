"""Input checked against the official TMF640 v4 document, read as a tolerant reader would.

The published schemas are used as they are, with the relaxations real clients need (REST_CONTRACT.md):
`relatedParty` without `@referredType`, a `serviceSpecification` named by `name` alone. Unknown attributes
are allowed everywhere; known ones must have their types. Messages name the attribute path.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from resolvers.errors import ValidationFailed
from resolvers.instants import parse_instant

SWAGGER = Path(__file__).parent / "data" / "TMF640-ServiceActivation-v4.0.0.swagger.json"
NOT_PATCHABLE = ("id", "href", "serviceDate")


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


_formats = FormatChecker(formats=())


def _is_instant(value: object) -> bool:
    return not isinstance(value, str) or parse_instant(value) is not None


_formats.checks("date-time")(_is_instant)


@cache
def _validator(definition: str) -> Draft4Validator:
    return Draft4Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": _definitions()}, format_checker=_formats
    )


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


def validate(definition: str, document: Any) -> None:
    """Raise ValidationFailed for the first error (the shallowest, so the message is the most useful)."""
    if not isinstance(document, dict):
        raise ValidationFailed("", f"the body must be a JSON object, not {type(document).__name__}")
    errors = sorted(_validator(definition).iter_errors(document), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        raise _message(errors[0])
