"""Patches: JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902, through the jsonpatch library)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import jsonpatch
import jsonpointer

from resolvers.rules.errors import Conflict, ValidationFailed
from resolvers.rules.validation import NOT_PATCHABLE

PatchKind = Literal["merge", "json"]


@dataclass(frozen=True)
class Patch:
    kind: PatchKind
    body: Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, section 2, as written there."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply(document: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """The patched document; the input is never changed.

    `document` is the resource as the client reads it (with `id` and `href`), so that JSON Pointers and
    `test` operations see what a GET showed. A patch that would change `id`, `href` or `serviceDate` is
    refused; one that leaves them as they are (a client echoing the resource back, a `test` on `/id`) is not.
    """
    if patch.kind == "merge":
        if not isinstance(patch.body, dict):
            raise ValidationFailed("", "a merge patch must be a JSON object")
        patched: Any = merge_patch(document, patch.body)
    else:
        if not isinstance(patch.body, list):
            raise ValidationFailed("", "a JSON Patch must be a JSON array of operations")
        patched = _json_patch(document, patch.body)
    if not isinstance(patched, dict):
        raise ValidationFailed("", "a JSON Patch must leave the resource an object")
    for name in NOT_PATCHABLE:
        if patched.get(name) != document.get(name) or (name in patched) != (name in document):
            raise ValidationFailed(name, "is not patchable")
    return patched


def _json_patch(document: dict[str, Any], operations: list[Any]) -> Any:
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise ValidationFailed(f"[{i}]", "a JSON Patch operation must be an object")
    try:
        return jsonpatch.JsonPatch(operations).apply(document, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Conflict(f"JSON Patch test failed: {exc}") from exc
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        raise ValidationFailed("", f"JSON Patch cannot be applied: {exc}") from exc
    except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError, KeyError, ValueError) as exc:
        raise ValidationFailed("", f"invalid JSON Patch: {exc}") from exc


def creation(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """`diff({}, doc)` without comparing anything: one `add` per attribute (bulk import writes many)."""
    return [{"op": "add", "path": "/" + str(key).replace("~", "~0").replace("/", "~1"), "value": value}
            for key, value in doc.items()]


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed, as RFC 6902 operations (the revision record and the events' fieldPath use it)."""
    ops: list[dict[str, Any]] = jsonpatch.make_patch(before, after).patch
    return ops
