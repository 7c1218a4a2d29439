"""Shared fixtures: a migrated database per test on each backend (SQLite file, throwaway PostgreSQL).

Backends come from TMF640_TEST_BACKENDS (default `sqlite,postgres`); PostgreSQL is skipped only when no
server binaries exist and CI is not set (CI must run it: a missing server fails the run there).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import Settings
from resolvers.api import Resolvers
from store import migrate
from store.db import Database
from store.uow import Store
from tests import pg
from tests.engine_support import SYNC_WAIT
from tests.graphql import SchemaExecutor
from tests.inventory import inventory, inventory_client  # noqa: F401  (fixtures for every module)

LOCAL_LISTENERS = ["127.0.0.0/8", "::1/128"]  # hub callbacks to the tests' own listeners (docs/security.md)
BACKENDS = [b.strip() for b in os.environ.get("TMF640_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (real processes, large data) first: pytest-xdist's workers then finish together, instead of
    one of them starting a 30 s chaos test while the other has nothing left to do. The order within each part is
    kept (the same on every worker, as xdist requires)."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None and item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    asyncio.run(_migrate_and_dispose(db))
    return path


async def _migrate_and_dispose(db: Database) -> None:
    await migrate.upgrade(db)
    await db.dispose()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster]:
    if not pg.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing on CI; .ci/run must install postgresql")
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = pg.start()
    cluster.admin("CREATE DATABASE tmf640_template")
    asyncio.run(_migrate_and_dispose(Database(cluster.url("tmf640_template"))))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database for this test."""
    if request.param == "sqlite":
        target = tmp_path / "tmf640.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
    name = "t_" + uuid.uuid4().hex[:12]
    cluster.admin(f"CREATE DATABASE {name} TEMPLATE tmf640_template")
    yield cluster.url(name)
    cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def store(db: Database) -> Store:
    return Store(db)


@pytest.fixture
async def resolvers(store: Store) -> AsyncIterator[Resolvers]:
    """The resolvers with the activation engine running (writes are carried out by its runner)."""
    built = Resolvers.build(store)
    await built.engine.start()
    yield built
    await built.engine.stop()


@pytest.fixture
def schema_executor(resolvers: Resolvers) -> SchemaExecutor:
    """GraphQL through schema.execute on the running resolvers: no HTTP, no app lifespan."""
    return SchemaExecutor(resolvers)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Anonymous development access (no authentication settings); the test listeners are local.
    return Settings(database_url=database_url, migrate_on_start=False, hub_callback_allow=LOCAL_LISTENERS,
                    sync_wait_seconds=SYNC_WAIT)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
