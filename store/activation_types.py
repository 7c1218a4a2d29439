"""Rows of the activation engine's tables as the repository returns them (store.activation_repo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.values import as_utc

UNFINISHED = ("queued", "running", "compensating")  # "held" is a condition of these, not a status
HEAVY_COLUMNS = ("changes", "before_doc", "after_doc")


@dataclass(frozen=True)
class ActivationRow:
    seq: int
    id: str
    root_id: str
    operation: str
    policy: str
    status: str
    cancel_requested: bool
    cancelled_by: str | None
    delete_root: bool
    monitors: list[dict[str, str]]
    lease_owner: str | None
    lease_expires: datetime | None
    done_count: int
    base_url: str
    correlation_id: str | None
    actor: str
    error: str | None
    created_at: datetime
    updated_at: datetime
    tenant: str = "default"
    held_reason: str | None = None
    held_at: datetime | None = None
    failures: int = 0
    failing_since: datetime | None = None
    retry_after: datetime | None = None
    jeopardy_at: datetime | None = None
    operator_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    @property
    def held(self) -> bool:
        return self.held_reason is not None


@dataclass(frozen=True)
class StepRow:
    id: str
    activation_id: str
    position: int
    service_id: str
    depends_on: list[str]
    from_state: str | None
    to_state: str | None
    changes: list[dict[str, Any]]
    by_value: list[str]
    action: str | None
    status: str
    compensation: str | None
    before_doc: dict[str, Any] | None
    after_doc: dict[str, Any] | None
    attempts: int
    done_order: int | None
    result: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    correlation_id: str | None = None


@dataclass(frozen=True)
class NewStep:
    id: str
    position: int
    service_id: str
    depends_on: list[str]
    from_state: str | None
    to_state: str | None
    changes: list[dict[str, Any]]
    by_value: list[str]
    action: str | None


def activation_row(r: Any) -> ActivationRow:
    return ActivationRow(
        seq=int(r.seq), id=r.id, root_id=r.root_id, operation=r.operation, policy=r.policy, status=r.status,
        cancel_requested=bool(r.cancel_requested), cancelled_by=r.cancelled_by, delete_root=bool(r.delete_root),
        monitors=list(r.monitors or []), lease_owner=r.lease_owner, lease_expires=as_utc(r.lease_expires),
        done_count=int(r.done_count), base_url=r.base_url, correlation_id=r.correlation_id, actor=r.actor,
        error=r.error, created_at=as_utc(r.created_at), updated_at=as_utc(r.updated_at), tenant=r.tenant,
        held_reason=r.held_reason, held_at=as_utc(r.held_at), failures=int(r.failures or 0),
        failing_since=as_utc(r.failing_since), retry_after=as_utc(r.retry_after), jeopardy_at=as_utc(r.jeopardy_at),
        operator_log=list(r.operator_log or []),
    )  # instants aware and in UTC on both databases (SQLite gives them back naive)


def step_row(r: Any) -> StepRow:
    return StepRow(
        id=r.id, activation_id=r.activation_id, position=int(r.position), service_id=r.service_id,
        depends_on=list(r.depends_on or []), from_state=r.from_state, to_state=r.to_state,
        changes=list(r.changes or []), by_value=list(r.by_value or []), action=r.action, status=r.status,
        compensation=r.compensation, before_doc=r.before_doc, after_doc=r.after_doc, attempts=int(r.attempts),
        done_order=r.done_order, result=r.result, error=r.error, started_at=as_utc(r.started_at),
        finished_at=as_utc(r.finished_at), correlation_id=getattr(r, "correlation_id", None),
    )


class RowProxy:
    """Attribute access over a dict, so joined rows convert with the same helpers as plain ones."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
