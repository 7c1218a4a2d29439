"""The ASGI application: one Starlette app serving REST and GraphQL on the same resolvers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from app import web
from app.auth import Authenticator
from app.edge import EdgeConfig, RequestEdgeMiddleware
from app.events import EventPipeline, callback_guard
from app.lazy import LazyASGI
from app.observability import health as probes
from app.observability.http import Observed
from app.settings import Settings
from resolvers.activation.drivers import DriverRegistry
from resolvers.api import Resolvers
from resolvers.engine import EngineConfig
from resolvers.workers.pruner import Pruner, RetentionConfig
from rest_compat.errors import HANDLERS
from rest_compat.http import RestConfig
from rest_compat.routes import routes as rest_routes
from schema.admission import AdmissionLimits, WebSocketGate
from store import migrate
from store.db import Database
from store.uow import ALL_TENANTS, Store

log = logging.getLogger("tmf640")


async def health(request: Request) -> Response:
    async with request.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        await uow.outbox.last_seq()
    healthy, events = request.app.state.events.health()
    return JSONResponse({"status": "ok" if healthy else "degraded", "events": events},
                        status_code=200 if healthy else 503)


async def _metrics(request: Request) -> Response:
    from app.observability.metrics import metrics  # prometheus_client's exposition loads on the first scrape

    return await metrics(request)


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        policy=settings.activation_policy,
        concurrency=settings.activation_concurrency,
        max_activations=settings.runner_max_activations,
        lease_seconds=settings.activation_lease_seconds,
        poll_seconds=settings.runner_poll_seconds,
        retry_attempts=settings.activation_retry_attempts,
        retry_seconds=settings.activation_retry_seconds,
        retry_backoff=settings.activation_retry_backoff,
        retry_backoff_cap=settings.activation_retry_backoff_cap,
        expected_seconds=settings.activation_expected_seconds,
        expected_seconds_by_spec=settings.activation_expected_seconds_by_spec,
    )


def retention_config(settings: Settings) -> RetentionConfig:
    return RetentionConfig(
        outbox=settings.retention_outbox, deliveries=settings.retention_deliveries,
        revisions=settings.retention_revisions, activations=settings.retention_activations,
        monitors=settings.retention_monitors, batch=settings.prune_batch, interval=settings.prune_interval,
    )


def graphql_app(settings: Settings, admission_limits: AdmissionLimits) -> ASGIApp:
    """The /graphql endpoint (HTTP and WebSocket). Strawberry and the schema load here: see app.lazy."""
    from schema.asgi import GraphQLApp, WebSocketLimits
    from schema.build import Limits

    return GraphQLApp(
        limits=Limits(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            introspection=settings.introspection_allowed,
        ),
        graphiql=settings.environment == "development",
        graphiql_html=web.GRAPHIQL_HTML,
        websocket=WebSocketLimits(
            max_subscriptions=settings.graphql_max_subscriptions,
            connection_init_timeout=settings.graphql_connection_init_timeout,
            legacy_protocol=settings.graphql_legacy_ws,
        ),
        admission_limits=admission_limits,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    if settings.environment == "production" and not settings.authentication_configured:
        raise RuntimeError("production needs authentication: set TMF640_API_KEYS or TMF640_JWT_JWKS_URL / "
                           "TMF640_JWT_JWKS_FILE (development without them allows anonymous access; docs/security.md)")
    authenticator = Authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if settings.migrate_on_start:
            await migrate.upgrade(db)
        store = Store(db)
        events = EventPipeline(settings, store)
        app.state.events = events
        resolvers = Resolvers.build(
            store, lifecycle=settings.lifecycle, max_page=settings.max_page_size,
            bus=events.bus, hub_wake=events.dispatcher.wake,
            engine=engine_config(settings), drivers=DriverRegistry(settings.drivers, settings.driver_config),
            callbacks=callback_guard(settings), max_listeners_per_tenant=settings.hub_max_listeners_per_tenant,
        )
        app.state.resolvers = resolvers
        events.on_monitor_events(resolvers.engine.notifier.notify)
        if authenticator.anonymous:
            log.warning("!" * 78)
            log.warning("NO AUTHENTICATION: every caller is anonymous with every scope (development only). Set "
                        "TMF640_API_KEYS or TMF640_JWT_JWKS_URL before exposing this server (docs/security.md)")
            log.warning("!" * 78)
        pruner = app.state.pruner = Pruner(store.for_workers(), retention_config(settings))
        try:
            await events.start()
            if settings.runner_enabled:
                await resolvers.engine.start()
            await pruner.start()
            log.info("ready", extra={"event": "started", "database": db.engine.url.render_as_string(),
                                     "runner": settings.runner_enabled})
            graphql.warm()  # the GraphQL schema is built now, beside the running server (app.lazy)
            yield
        finally:
            try:
                await pruner.stop()
                await resolvers.engine.stop()
                await events.stop()  # tolerates a partial start
            finally:
                await db.dispose()

    admission_limits = AdmissionLimits(
        max_document_bytes=settings.graphql_max_document_bytes,
        max_ws_connections=settings.graphql_max_ws_connections,
        max_ws_connections_per_client=settings.graphql_max_ws_per_client,
        subscribe_rate=settings.graphql_subscribe_rate,
        subscribe_burst=2 * settings.graphql_max_subscriptions,
        refusal_delay=settings.graphql_refusal_delay,
    )
    graphql = LazyASGI(lambda: graphql_app(settings, admission_limits), "graphql")
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/health/live", probes.live, methods=["GET"]),
            Route("/health/ready", probes.ready, methods=["GET"]),
            *([Route("/metrics", _metrics, methods=["GET"])] if settings.metrics_enabled else []),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *rest_routes(),
            *web.routes(),
        ],
        exception_handlers=HANDLERS,
        middleware=[
            Middleware(WebSocketGate, limits=admission_limits),  # WebSocket caps, before any other work
            Middleware(Observed),  # outermost of the rest: ids and the request line for every answer, refusals included
            Middleware(RequestEdgeMiddleware, authenticator=authenticator, config=EdgeConfig(
                public_base_url=settings.public_base_url, max_body_bytes=settings.max_body_bytes)),
        ],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.rest = RestConfig(sync_wait_seconds=settings.sync_wait_seconds)
    return app
