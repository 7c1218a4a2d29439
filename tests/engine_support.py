"""Helpers for the activation engine's tests: an app per test with its own settings, bounded waits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import Settings
from resolvers.activation.drivers.simulated import SimulatedDriver
from resolvers.api import Resolvers
from resolvers.context import RequestContext
from store.uow import ALL_TENANTS

API = "/tmf-api/serviceActivationAndConfiguration/v4"
WAIT = 30.0  # seconds: a bound, never a sleep


def spec(name: str = "vCPE") -> dict[str, str]:
    return {"name": name}


def service(name: str, state: str = "active", **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": state, "serviceSpecification": spec(), **extra}


def fail(action: str) -> list[dict[str, Any]]:
    return [{"name": "simulateFailure", "value": action}]


@dataclass
class Harness:
    app: Starlette
    client: httpx.AsyncClient

    @property
    def resolvers(self) -> Resolvers:
        r: Resolvers = self.app.state.resolvers
        return r

    @property
    def driver(self) -> SimulatedDriver:
        d = self.resolvers.engine.drivers.get("simulated")
        assert isinstance(d, SimulatedDriver)
        return d

    async def finished(self, monitor_id: str, seconds: float = WAIT) -> dict[str, Any]:
        """The monitor once final (woken by the engine's notification; fails after `seconds`)."""
        monitor = await self.resolvers.engine.wait(RequestContext(base_url="http://testserver"), monitor_id, seconds)
        assert monitor is not None, monitor_id
        assert monitor["state"] in ("Completed", "InError"), f"monitor {monitor_id} still {monitor['state']}"
        return monitor

    async def post(
        self, body: Any, *, asynchronous: bool = False, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(f"{API}/service", json=body, headers=_headers(asynchronous, headers))

    async def patch(
        self, id: str, body: Any, *, asynchronous: bool = False, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.patch(f"{API}/service/{id}", json=body, headers=_headers(asynchronous, headers))

    async def delete(
        self, id: str, *, asynchronous: bool = False, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.delete(f"{API}/service/{id}", headers=_headers(asynchronous, headers))

    async def service(self, id: str) -> dict[str, Any]:
        response = await self.client.get(f"{API}/service/{id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def monitor(self, id: str) -> dict[str, Any]:
        response = await self.client.get(f"{API}/monitor/{id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def events(self) -> list[dict[str, Any]]:
        async with self.resolvers.store.read(ALL_TENANTS) as uow:
            return [e.payload for e in await uow.outbox.after(0, 100_000)]

    def executed(self) -> list[tuple[str, str]]:
        """(service id, action) of each execute call, in the order the driver received them."""
        return [(c.service_id, c.action) for c in self.driver.executed("execute")]

    def compensated(self) -> list[tuple[str, str]]:
        return [(c.service_id, c.action) for c in self.driver.executed("compensate")]


def _headers(asynchronous: bool, given: dict[str, str] | None) -> dict[str, str]:
    headers = dict(given or {})
    if asynchronous:
        headers["Prefer"] = "respond-async"
    return headers


def summary(monitor: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(monitor["response"]["body"])
    return body


def members(monitor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in summary(monitor)["members"]}


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness_factory(database_url: str) -> AsyncIterator[MakeHarness]:
    """`await make(**settings)`: an app on this test's database with its lifespan (and runner) running."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> Harness:
            settings = Settings(database_url=database_url, migrate_on_start=False, **overrides)
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            )
            return Harness(app, client)

        yield make


@pytest.fixture
async def h(harness_factory: MakeHarness) -> Harness:
    """The default harness: simulated driver without latency, default settings."""
    return await harness_factory()
