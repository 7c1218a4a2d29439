"""A generated inventory of services for query-contract tests: the data and a store holding it, per backend.

The documents are deterministic (seeded) and varied where the query contract needs variety: states, names
with duplicates, mixed case and non-ASCII letters, start dates written with different UTC offsets (some
equal instants written differently), related parties, characteristics of several JSON types, subclasses with
extension attributes, bundles with members by value and by reference. Tests compute what a query must
return from `Inventory.docs` in plain Python, never from the server.

The store is built once per session and backend, in one transaction through the repository (the resolver
path per service would cost seconds per backend for nothing these tests check).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import Settings
from resolvers.rules.documents import links_of
from store.db import Database
from store.uow import ALL_TENANTS, Store
from tests import pg

BACKENDS = [b.strip() for b in os.environ.get("TMF640_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]
SIZE = 1200
STATES = ("feasibilityChecked", "designed", "reserved", "inactive", "active", "terminated")
WORDS = ("alpha", "beta", "gamma", "Delta", "epsilon", "zeta", "éta", "_theta", "Ωmega")
SPECS = ("vCPE", "Firewall", "Broadband", "Voice")
OFFSETS = ("Z", "+00:00", "+02:00", "-05:00", "+05:30")
ROLES = ("owner", "user", "reseller")
BASE = datetime(2024, 1, 1, tzinfo=UTC)
ANCHOR = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)  # one instant several services start at, in various offsets
ODD_SERVICE_DATE = "020-04-01T12:15:39.434Z"


def written(instant: datetime, offset: str) -> str:
    """`instant` as ISO 8601 text in the UTC offset `offset` ("Z" or "+hh:mm")."""
    if offset == "Z":
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") + offset


def instant(text: str | None) -> datetime | None:
    """Independent of the server's parser: Python's own ISO 8601 reading."""
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def generate(size: int, seed: int = 640) -> list[dict[str, Any]]:
    """`size` service documents with ids `svc-00000`...; bundles (every 10th) own the next two by value."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for i in range(size):
        doc: dict[str, Any] = {
            "id": f"svc-{i:05d}",
            "state": rng.choice(STATES),
            "serviceSpecification": {"id": f"spec-{rng.randrange(8)}", "name": rng.choice(SPECS)},
        }
        if rng.random() < 0.95:
            doc["name"] = f"{rng.choice(WORDS)}-{rng.randrange(25)}"
        if rng.random() < 0.8:
            doc["category"] = rng.choice(("CFS", "RFS"))
        doc["serviceType"] = rng.choice(("mobile", "fixed", "cloud"))
        doc["hasStarted"] = rng.random() < 0.5
        if i % 37 == 5:
            doc["startDate"] = written(ANCHOR, rng.choice(OFFSETS))
        elif rng.random() < 0.92:
            start = BASE + timedelta(minutes=rng.randrange(365 * 24 * 60))
            doc["startDate"] = written(start, rng.choice(OFFSETS))
        served = rng.random()
        if served < 0.05:
            doc["serviceDate"] = ODD_SERVICE_DATE  # free text in the schema; the official sample has this one
        elif served < 0.6:
            doc["serviceDate"] = written(BASE + timedelta(seconds=rng.randrange(10**7)), rng.choice(OFFSETS))
        kind = rng.random()
        if kind < 0.25:
            doc["@type"] = "vCPE"
            doc["vcpeModel"] = {"vendor": rng.choice(("acme", "globex")), "ports": rng.randrange(1, 9)}
        elif kind < 0.4:
            doc["@type"] = "Firewall"
        elif kind < 0.7:
            doc["@type"] = "Service"
        doc["relatedParty"] = [
            {"id": str(rng.randrange(1, 40)), "role": rng.choice(ROLES), "@referredType": "Individual"}
            for _ in range(rng.randrange(0, 4))
        ]
        characteristics: list[dict[str, Any]] = []
        if rng.random() < 0.6:
            characteristics.append({"name": "MSISDN", "value": f"+44{rng.randrange(7000, 7100)}"})
        if rng.random() < 0.6:
            characteristics.append({"name": "speed", "value": rng.choice((100, 200, 1000))})
        if rng.random() < 0.3:
            characteristics.append({"name": "vlan", "value": {"id": rng.randrange(1, 5), "tagged": True}})
        doc["serviceCharacteristic"] = characteristics
        if i % 10 == 0 and i + 2 < size:
            doc["isBundle"] = True
            doc["supportingService"] = [
                {"id": f"svc-{i + 1:05d}"},
                {"id": f"svc-{i + 2:05d}"},
                {"id": f"ext-{i}", "href": f"https://elsewhere.example/service/ext-{i}"},
            ]
        elif rng.random() < 0.5:
            doc["isBundle"] = False
        docs.append(doc)
    return docs


def by_value_members(doc: dict[str, Any]) -> set[str]:
    """Members a generated bundle owns by value: the ones this inventory holds."""
    return {e["id"] for e in doc.get("supportingService", []) if e["id"].startswith("svc-")}


async def seed(url: str, docs: list[dict[str, Any]]) -> None:
    """Insert `docs` through the repository in one transaction."""
    db = Database(url)
    now = datetime.now(UTC)
    try:
        async with Store(db).write(ALL_TENANTS) as uow:
            for doc in docs:
                body = {k: v for k, v in doc.items() if k != "id"}
                await uow.services.insert(doc["id"], body, links_of(doc["id"], body, by_value_members(doc)), now)
    finally:
        await db.dispose()


@dataclass
class Inventory:
    backend: str
    url: str
    docs: list[dict[str, Any]]

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {d["id"]: d for d in self.docs}


@contextmanager
def seeded_database(
    request: pytest.FixtureRequest, backend: str, directory: Path, docs: list[dict[str, Any]]
) -> Iterator[str]:
    """A fresh migrated database on `backend` holding `docs`; dropped afterwards. Call outside an event loop."""
    if backend == "sqlite":
        target = directory / f"inventory-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite+aiosqlite:///{target}"
        asyncio.run(seed(url, docs))
        yield url
        return
    cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
    name = "inv_" + uuid.uuid4().hex[:12]
    cluster.admin(f"CREATE DATABASE {name} TEMPLATE tmf640_template")
    try:
        url = cluster.url(name)
        asyncio.run(seed(url, docs))
        yield url
    finally:
        cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session", params=BACKENDS)
def inventory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inventory]:
    """A store of SIZE generated services on each backend, shared read-only by the tests of a session."""
    docs = generate(SIZE)
    with seeded_database(request, request.param, tmp_path_factory.mktemp("inventory"), docs) as url:
        yield Inventory(request.param, url, docs)


@asynccontextmanager
async def serving(url: str, **settings: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app on the database at `url` (lifespan entered, `settings` overriding) and an HTTP client on it."""
    application = create_app(Settings(database_url=url, migrate_on_start=False, **settings))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield application, client


@pytest.fixture
async def inventory_client(inventory: Inventory) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app serving the shared inventory (tests must not write through it)."""
    async with serving(inventory.url) as (_app, client):
        yield client
