"""What an activation tells the operator: one log line per outcome, step failure and compensation, and metrics.

Kept apart from the execution so that its call sites stay one line each (resolvers.telemetry holds the metrics).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from resolvers import telemetry
from resolvers.activation.drivers import DriverRegistry, Step
from store.activation_types import ActivationRow

log = logging.getLogger("tmf640.engine")


def ids_of(act: ActivationRow) -> dict[str, str | None]:
    """The log context of an activation: its id, its request's Monitor, correlation id and HTTP request id."""
    request = next((m for m in act.monitors if m.get("role") == "request"), None)
    first = request or (act.monitors[0] if act.monitors else {})
    return {"activation_id": act.id, "monitor_id": first.get("id"), "correlation_id": act.correlation_id,
            "request_id": first.get("requestId")}


def step_done(drivers: DriverRegistry, step: Step, error: str | None) -> None:
    driver = drivers.name_for(step.service)
    telemetry.step_outcome(driver, "failed" if error else "succeeded")
    if error is not None:
        log.warning("step %s failed: %s", step.id, error, extra={
            "event": "step_failed", "step_id": step.id, "service_id": step.service_id, "action": step.action,
            "driver": driver, "error": error, "attempt": step.attempt})


def compensated(step_id: str, service_id: str, error: str | None) -> None:
    telemetry.COMPENSATIONS.labels(outcome="failed" if error else "done").inc()
    if error is None:
        log.info("step %s compensated", step_id,
                 extra={"event": "compensated", "step_id": step_id, "service_id": service_id})
    else:
        log.error("step %s could not be compensated: %s", step_id, error, extra={
            "event": "compensation_failed", "step_id": step_id, "service_id": service_id, "error": error})


def finished(act: ActivationRow, outcome: str, now: datetime) -> None:
    created = act.created_at if act.created_at.tzinfo else act.created_at.replace(tzinfo=UTC)  # SQLite: naive UTC
    seconds = (now - created).total_seconds()
    telemetry.activation_outcome(outcome, seconds)
    level = logging.INFO if outcome == "completed" else logging.WARNING
    log.log(level, "activation %s %s", act.id, outcome, extra={
        "event": "activation_outcome", "outcome": outcome, "operation": act.operation, "policy": act.policy,
        "service_id": act.root_id, "duration_ms": round(seconds * 1000, 1), "error": act.error})

