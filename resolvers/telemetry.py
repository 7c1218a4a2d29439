"""Telemetry shared by every layer: the log context of the work under way and the Prometheus metrics.

Log context: `bind(...)` sets context variables (correlation id, request id, activation id, monitor id) that the
log formatter (app.observability.logs) adds to every line written in that context. Asyncio tasks copy the context
when created, so the steps an activation starts inherit its ids.

Metrics live in `REGISTRY`, not prometheus_client's global one: the app serves it with a `process` label on every
series, so several processes on one database never collide (app.observability.metrics). Call sites use the small
helpers below, so instrumentation stays one line where the work happens.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# ---- log context -----------------------------------------------------------------------------------------

FIELDS = ("correlation_id", "request_id", "activation_id", "monitor_id")
_vars: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"tmf640_{name}", default=None) for name in FIELDS
}


def current() -> dict[str, str]:
    """The ids bound in this context (only those set)."""
    out: dict[str, str] = {}
    for name, var in _vars.items():
        value = var.get()
        if value is not None:
            out[name] = value
    return out


def set_context(**ids: str | None) -> None:
    """Bind ids for the rest of this context (a task's own: a task copies its parent's context when created)."""
    for name, value in ids.items():
        _vars[name].set(value)


@contextlib.contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Bind ids for the block, restoring the previous values after it."""
    tokens = [(_vars[name], _vars[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# ---- metrics ---------------------------------------------------------------------------------------------

REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WORK = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

HTTP_REQUESTS = Counter("tmf640_http_requests", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("tmf640_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"], buckets=_LATENCY, registry=REGISTRY)
GRAPHQL_OPERATIONS = Counter("tmf640_graphql_operations", "GraphQL operations, by name, type and outcome",
                             ["operation", "type", "outcome"], registry=REGISTRY)
WEBSOCKETS = Gauge("tmf640_websocket_connections", "Open GraphQL WebSocket connections", registry=REGISTRY)
SUBSCRIPTIONS = Gauge("tmf640_graphql_subscriptions", "GraphQL subscriptions running", registry=REGISTRY)
ACTIVATIONS = Counter("tmf640_activations", "Activations finished, by outcome", ["outcome"], registry=REGISTRY)
ACTIVATION_SECONDS = Histogram("tmf640_activation_duration_seconds", "From acceptance to outcome",
                               ["outcome"], buckets=_WORK, registry=REGISTRY)
STEPS = Counter("tmf640_activation_steps", "Driver calls of activation steps, by driver and outcome",
                ["driver", "outcome"], registry=REGISTRY)
COMPENSATIONS = Counter("tmf640_compensations", "Compensations of succeeded steps, by outcome", ["outcome"],
                        registry=REGISTRY)
RUNNER = Gauge("tmf640_runner", "The activation runner's figures (running, leases_lost, renewal_retries, "
               "activations_retried, activations_held, jeopardy_flagged...), read at scrape time", ["stat"],
               registry=REGISTRY)
OUTBOX_LAG = Gauge("tmf640_outbox_lag_events", "Newest outbox seq minus the seq the relay published",
                   registry=REGISTRY)
HUB_BACKLOG = Gauge("tmf640_hub_backlog_events", "Outbox events after a listener's cursor (not all match it)",
                    ["listener", "state"], registry=REGISTRY)
HUB_DELIVERIES = Counter("tmf640_hub_deliveries", "Hub POSTs by listener and outcome", ["listener", "outcome"],
                         registry=REGISTRY)
HUB_FAILURES = Counter("tmf640_hub_delivery_failures", "Failed hub POSTs by listener", ["listener"],
                       registry=REGISTRY)
DB_POOL = Gauge("tmf640_db_pool_connections", "Connections of the database pool, by state", ["state"],
                registry=REGISTRY)
PRUNED = Counter("tmf640_pruned_rows", "Rows removed by retention, by kind", ["kind"], registry=REGISTRY)


def step_outcome(driver: str, outcome: str) -> None:
    STEPS.labels(driver=driver, outcome=outcome).inc()


def activation_outcome(outcome: str, seconds: float) -> None:
    ACTIVATIONS.labels(outcome=outcome).inc()
    ACTIVATION_SECONDS.labels(outcome=outcome).observe(max(0.0, seconds))


def hub_attempt(listener: str, delivered: bool) -> None:
    HUB_DELIVERIES.labels(listener=listener, outcome="delivered" if delivered else "failed").inc()
    if not delivered:
        HUB_FAILURES.labels(listener=listener).inc()


def forget_listener(listener: str) -> None:
    """Drop a deleted listener's series, so that label sets do not grow without end."""
    for metric in (HUB_DELIVERIES, HUB_FAILURES, HUB_BACKLOG):
        for labels in list(_label_sets(metric)):
            if labels.get("listener") == listener:
                with contextlib.suppress(KeyError):
                    metric.remove(*labels.values())


def _label_sets(metric: Any) -> Iterator[dict[str, str]]:
    names: tuple[str, ...] = metric._labelnames
    for values in list(metric._metrics):
        yield dict(zip(names, values, strict=True))
