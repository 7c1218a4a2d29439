"""`GET /metrics`: this process's series in Prometheus text format, each labelled `process` (host:pid).

Several processes on one PostgreSQL are scraped one by one (each serves its own port); the `process` label keeps
their series apart when a proxy or a federation merges them. Gauges that describe shared state (outbox lag, hub
backlog per listener) and the database pool are read at scrape time.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers import telemetry
from resolvers.api import EDGE_KEY, RequestEdge
from resolvers.context import ADMIN, EVERY_TENANT
from store.uow import ALL_TENANTS

log = logging.getLogger("tmf640.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Labelled(Collector):
    """Every sample of `inner` with `process=<host:pid>` added."""

    def __init__(self, inner: CollectorRegistry, process: str) -> None:
        self.inner, self.process = inner, process

    def collect(self) -> Iterable[Metric]:
        for metric in self.inner.collect():
            out = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            for s in metric.samples:
                out.add_sample(s.name, {**s.labels, "process": self.process}, s.value, s.timestamp, s.exemplar)
            yield out


def _registry(process: str) -> CollectorRegistry:
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Labelled(telemetry.REGISTRY, process))
    runtime = CollectorRegistry(auto_describe=False)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        runtime.register(collector)
    registry.register(Labelled(runtime, process))
    return registry


_REGISTRIES: dict[str, CollectorRegistry] = {}


async def refresh(app: Any) -> None:
    """Read the gauges that describe the database and the pipeline (one short read)."""
    resolvers = app.state.resolvers
    events = app.state.events
    pool = resolvers.store.db.engine.pool
    for state, count in _pool_counts(pool):
        telemetry.DB_POOL.labels(state=state).set(count)
    async with resolvers.store.read(ALL_TENANTS) as uow:
        last = await uow.outbox.last_seq()
        hubs, _ = await uow.hubs.page(0, 10_000)
    stats = getattr(resolvers.engine.runner, "stats", None)
    for stat, figure in (stats() if stats is not None else {}).items():
        telemetry.RUNNER.labels(stat=stat).set(figure)
    telemetry.OUTBOX_LAG.set(max(0, last - events.relay.cursor))
    telemetry.HUB_BACKLOG.clear()
    for hub in hubs:
        telemetry.HUB_BACKLOG.labels(listener=hub.id, state=hub.state).set(max(0, last - hub.cursor))


def _pool_counts(pool: Any) -> Iterator[tuple[str, float]]:
    for state, method in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size"),
                          ("overflow", "overflow")):
        fn = getattr(pool, method, None)
        if fn is not None:
            yield state, float(fn())


def _operator(request: Request) -> bool:
    """Metrics show every tenant's figures (hub listener ids among them): with authentication configured, only
    an admin of every tenant may read them (app.edge already refused callers without the admin scope)."""
    if not request.app.state.settings.authentication_configured:
        return True
    edge = request.scope.get("state", {}).get(EDGE_KEY)
    caller = edge.context.caller if isinstance(edge, RequestEdge) else None
    return caller is not None and caller.tenant == EVERY_TENANT and caller.may(ADMIN)


async def metrics(request: Request) -> Response:
    if not _operator(request):
        return JSONResponse({"code": "Forbidden", "reason": "Forbidden",
                             "message": "metrics are the operator's: an admin key of every tenant (\"*\")"},
                            status_code=403)
    try:
        await refresh(request.app)
    except Exception as exc:  # the database may be away: serve what this process knows
        log.warning("metrics: could not read the database gauges: %s", exc)
    process = f"{socket.gethostname()}:{os.getpid()}"  # read per scrape: a forked worker is its own process
    registry = _REGISTRIES.setdefault(process, _registry(process))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)
