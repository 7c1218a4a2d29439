"""TMF Monitor documents: state spelling, request/response parts, the per-member summary. Plain Python.

`state` is written `InProgress`, `InError` or `Completed` (the swagger's description); filters accept the
published variants too (`In Progress`, `inProgress`, `completed`, `IN_ERROR`...). `response.body` is a string
in the schema: it holds a JSON summary of the request's work (README, "Monitors"):

    {"outcome": "inProgress" | "completed" | "failed" | "cancelled", "operation": "create" | "patch" | "delete",
     "policy": "atomic" | "partial", "service": {"id", "href", "state"},
     "members": [{"id", "href", "action", "fromState", "targetState", "status", "state", "error"?, "result"?}],
     "error"?: "...", "cancelledBy"?: "<monitor id>", "amendedBy"?: ["<monitor id>", ...]}

A Monitor whose work is held for an operator, in jeopardy, or acted on by an operator carries the extension
attributes `held`, `heldReason`, `heldAt`, `jeopardy`, `jeopardyAt`, `operatorActions` (`with_condition`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

IN_PROGRESS = "InProgress"
IN_ERROR = "InError"
COMPLETED = "Completed"
STATES = (IN_PROGRESS, IN_ERROR, COMPLETED)
FINAL = frozenset({IN_ERROR, COMPLETED})

_SPELLINGS = {"inprogress": IN_PROGRESS, "inerror": IN_ERROR, "completed": COMPLETED}
JSON_HEADER = {"name": "Content-Type", "value": "application/json"}


def normalize_state(value: str) -> str:
    """The documented spelling of a published variant (`In Progress` -> `InProgress`); others unchanged."""
    return _SPELLINGS.get(re.sub(r"[^a-z]", "", value.lower()), value)


def is_final(doc: dict[str, Any]) -> bool:
    return doc.get("state") in FINAL


def request_part(method: str, to: str, body: Any, headers: list[tuple[str, str]]) -> dict[str, Any]:
    """The `request` of a Monitor: what the client sent (the schema wants `body` and one header at least)."""
    items = [{"name": n, "value": v} for n, v in headers] or [JSON_HEADER]
    text = "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return {"method": method, "to": to, "body": text, "header": items}


def response_part(status_code: int, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": str(status_code),
        "body": json.dumps(summary, separators=(",", ":"), ensure_ascii=False),
        "header": [JSON_HEADER],
    }


def new_doc(source_href: str, request: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Monitor",
        "state": IN_PROGRESS,
        "sourceHref": source_href,
        "request": request,
        "response": response_part(202, summary),
    }


def finished(doc: dict[str, Any], state: str, status_code: int, summary: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "state": state, "response": response_part(status_code, summary)}


def progressed(doc: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "response": response_part(202, summary)}


def with_condition(
    doc: dict[str, Any], *, held_reason: str | None, held_at: datetime | None, jeopardy_at: datetime | None,
    actions: list[dict[str, Any]],
) -> dict[str, Any]:
    """The Monitor's fallout fields (docs/activation.md, "Held work"): extension attributes at its top level.

    `held`/`heldReason`/`heldAt` while parked for an operator (`held: false` once released), `jeopardy`/
    `jeopardyAt` once flagged running longer than expected, `operatorActions` with who did what and why.
    """
    out = dict(doc)
    if held_reason is not None:
        out.update(held=True, heldReason=held_reason, heldAt=_instant(held_at))
    elif "held" in out:
        out["held"] = False
        out.pop("heldReason", None)
        out.pop("heldAt", None)
    if jeopardy_at is not None:
        out.update(jeopardy=True, jeopardyAt=_instant(jeopardy_at))
    if actions:
        out["operatorActions"] = list(actions)
    return out


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summary_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The parsed `response.body` (empty when it is not this server's JSON)."""
    body = (doc.get("response") or {}).get("body")
    if not isinstance(body, str):
        return {}
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def member_statuses(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each member's status from a Monitor document (GraphQL types this list)."""
    members = summary_of(doc).get("members")
    return [m for m in members if isinstance(m, dict)] if isinstance(members, list) else []
