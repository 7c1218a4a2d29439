"""The ASGI application: one Starlette app serving REST and GraphQL on the same resolvers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from app.settings import Settings
from resolvers.api import Resolvers
from resolvers.drivers import DriverRegistry
from resolvers.engine import EngineConfig
from rest_compat.errors import HANDLERS
from rest_compat.routes import routes as rest_routes
from schema.asgi import GraphQLApp
from schema.build import Limits
from store import migrate
from store.db import Database
from store.uow import Store

log = logging.getLogger("tmf640")


async def health(request: Request) -> Response:
    async with request.app.state.resolvers.store.read() as uow:
        await uow.outbox.last_seq()
    return JSONResponse({"status": "ok"})


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        policy=settings.activation_policy,
        concurrency=settings.activation_concurrency,
        max_activations=settings.runner_max_activations,
        lease_seconds=settings.activation_lease_seconds,
        poll_seconds=settings.runner_poll_seconds,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if settings.migrate_on_start:
            await migrate.upgrade(db)
        store = Store(db)
        resolvers = Resolvers.build(
            store, lifecycle=settings.lifecycle, max_page=settings.max_page_size,
            engine=engine_config(settings), drivers=DriverRegistry(settings.drivers, settings.driver_config),
        )
        app.state.resolvers = resolvers
        if settings.runner_enabled:
            await resolvers.engine.start()
        try:
            yield
        finally:
            await resolvers.engine.stop()
            await db.dispose()

    graphql = GraphQLApp(
        limits=Limits(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
        ),
        graphiql=settings.environment == "development",
        public_base_url=settings.public_base_url,
        max_body_bytes=settings.max_body_bytes,
    )
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *rest_routes(),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.settings = settings
    return app
