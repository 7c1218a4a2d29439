"""Reading a JSON request body as both APIs must: finite numbers only, bounded nesting. Plain Python.

Every later step (validation, patching, indexing) walks documents recursively; the bound keeps those walks
safe, and refusing NaN/Infinity keeps every stored document valid JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from resolvers.rules.errors import ValidationFailed

MAX_DEPTH = 64  # TMF documents nest about ten levels


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0, `{}` is 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body; ValidationFailed (naming no attribute) when it is not JSON or nests too deep."""
    try:
        value = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValidationFailed("", f"the body nests deeper than {max_depth} levels") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, out-of-range numbers
        raise ValidationFailed("", f"the body is not valid JSON: {exc}") from exc
    if depth(value) > max_depth:
        raise ValidationFailed("", f"the body nests deeper than {max_depth} levels")
    return value


def bounded(value: Any, what: str = "") -> Any:
    """`value` itself, or ValidationFailed naming `what` when it nests deeper than MAX_DEPTH levels."""
    if depth(value) > MAX_DEPTH:
        raise ValidationFailed(what, f"nests deeper than {MAX_DEPTH} levels")
    return value
