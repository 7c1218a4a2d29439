"""TMF Monitor documents: state spelling, request/response parts, the per-member summary, and what an outcome
means (the Monitor's state, its status code, the answer a REST caller that waited gets). Plain Python.

This is the one place both APIs and the engine read a Monitor through: the engine writes a finished Monitor
with an `Outcome`; REST's synchronous answer and GraphQL's `outcome` field read it back with `verdict`.

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
from dataclasses import dataclass
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


def render(id: str, href: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The Monitor as both APIs return it (and as its events carry it): id and href, then the stored document."""
    return {"id": id, "href": href, **doc}


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


def finished(doc: dict[str, Any], outcome: Outcome, summary: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "state": outcome.state, "response": response_part(outcome.status_code, summary)}


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


# ---- what an outcome means --------------------------------------------------------------------------------

SUCCESS_CODES = {"create": 201, "patch": 200, "delete": 204}


@dataclass(frozen=True)
class Outcome:
    """How finished work is written into its Monitor: the summary's `outcome`, the Monitor's `state` and its
    `response.statusCode` (the HTTP status a REST caller that waited for the work is answered with)."""

    name: str  # completed | failed | cancelled | resolved (by an operator's hand)
    state: str
    status_code: int


def completed(operation: str) -> Outcome:
    return Outcome("completed", COMPLETED, SUCCESS_CODES.get(operation, 200))


def failed(*, by_network: bool) -> Outcome:
    """A driver that refused is the network's failure (502); work that could not even start is a conflict (409)."""
    return Outcome("failed", IN_ERROR, 502 if by_network else 409)


def resolved_by_hand(operation: str, *, succeeded: bool) -> Outcome:
    """Held work an operator put right (or gave up on) by hand: no more driver calls (docs/activation.md)."""
    if succeeded:
        return Outcome("resolved", COMPLETED, SUCCESS_CODES.get(operation, 200))
    return Outcome("resolved", IN_ERROR, 502)


CANCELLED = Outcome("cancelled", IN_ERROR, 409)  # a later request cancelled the work
UNDONE = Outcome("completed", COMPLETED, 200)  # a cancelling request's own Monitor: everything was undone
NOT_UNDONE = Outcome("failed", IN_ERROR, 502)  # ... and when some compensation failed


@dataclass(frozen=True)
class Verdict:
    """What a Monitor says about its work, as both APIs read it.

    `final`: the work ended. `outcome`: inProgress, completed, failed or cancelled (None when the Monitor is not
    this server's). `failed`: it ended in error; then `status_code` (502 the network refused, 409 a conflict or
    a cancellation), `error` (the TMF error code) and `message` (naming the failed members and the Monitor) are
    what REST answers a caller that waited. While the work runs, `status_code` is 202.
    """

    final: bool
    outcome: str | None
    failed: bool = False
    status_code: int | None = None
    error: str | None = None
    message: str | None = None


def verdict(doc: dict[str, Any]) -> Verdict:
    summary = summary_of(doc)
    outcome = summary.get("outcome")
    name = outcome if isinstance(outcome, str) else None
    if not is_final(doc):
        return Verdict(final=False, outcome=name, status_code=202)
    if doc.get("state") != IN_ERROR:
        return Verdict(final=True, outcome=name)
    status = int(str((doc.get("response") or {}).get("statusCode", "502")))
    cancelled = name == "cancelled"
    return Verdict(
        final=True, outcome=name, failed=True, status_code=status,
        error="ActivationCancelled" if cancelled else "ActivationFailed", message=_failure_message(doc, summary),
    )


def _failure_message(doc: dict[str, Any], summary: dict[str, Any]) -> str:
    href = doc.get("href")
    if summary.get("outcome") == "cancelled":
        return f"the work was cancelled by a later request (monitor {summary.get('cancelledBy')}); see {href}"
    errors = [f"{m.get('id')}: {m['error']}" for m in member_statuses(doc)
              if m.get("status") in ("failed", "compensationFailed") and m.get("error")]
    detail = "; ".join(errors[:5]) or str(summary.get("error") or "the activation failed")
    return f"{detail}; see {href}"
