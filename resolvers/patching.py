"""Patches: JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902, through the jsonpatch library)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import jsonpatch
import jsonpointer

from resolvers.errors import Conflict, ValidationFailed
from resolvers.validation import NOT_PATCHABLE

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


def _touched_first_level(patch: Patch) -> set[str]:
    if patch.kind == "merge":
        return set(patch.body) if isinstance(patch.body, dict) else set()
    names = set()
    for op in patch.body:
        for key in ("path", "from"):
            pointer = op.get(key) if isinstance(op, dict) else None
            if isinstance(pointer, str):
                parts = pointer.split("/")
                if len(parts) > 1:
                    names.add(parts[1].replace("~1", "/").replace("~0", "~"))
    return names


def apply(document: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """The patched document; the input is never changed. Refuses patches on `id`, `href`, `serviceDate`."""
    if patch.kind == "merge":
        if not isinstance(patch.body, dict):
            raise ValidationFailed("", "a merge patch must be a JSON object")
    elif not isinstance(patch.body, list):
        raise ValidationFailed("", "a JSON Patch must be a JSON array of operations")
    forbidden = sorted(_touched_first_level(patch) & set(NOT_PATCHABLE))
    if forbidden:
        raise ValidationFailed(forbidden[0], "is not patchable")
    if patch.kind == "merge":
        result: dict[str, Any] = merge_patch(document, patch.body)
        return result
    try:
        ops = jsonpatch.JsonPatch(patch.body)
        patched = ops.apply(document, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Conflict(f"JSON Patch test failed: {exc}") from exc
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        raise ValidationFailed("", f"JSON Patch cannot be applied: {exc}") from exc
    except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError) as exc:
        raise ValidationFailed("", f"invalid JSON Patch: {exc}") from exc
    if not isinstance(patched, dict):
        raise ValidationFailed("", "a JSON Patch must leave the resource an object")
    return patched


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed, as RFC 6902 operations (the revision record and the events' fieldPath use it)."""
    ops: list[dict[str, Any]] = jsonpatch.make_patch(before, after).patch
    return ops
