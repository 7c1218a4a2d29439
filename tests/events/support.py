"""Test parts for the event pipeline: a real HTTP listener on 127.0.0.1, apps with their lifespan, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.factory import create_app
from app.settings import Settings

API = "/tmf-api/serviceActivationAndConfiguration/v4"
WAIT = 20.0  # upper bound on any wait for an event; a healthy run takes a fraction of it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test process keeps its own signal handlers
        yield


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Listener:
    """A TMF listener: a real uvicorn server recording every POST and answering `status` (201 by default).

    Stop it to refuse connections; start it again (same port) to come back.
    """

    port: int = field(default_factory=free_port)
    status: int = 201
    requests: list[Received] = field(default_factory=list)
    _server: _Server | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/listener"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r.event for r in self.accepted]

    async def _receive(self, request: Request) -> Response:
        received = Received(dict(request.headers), await request.body(), self.status)
        async with self._changed:
            self.requests.append(received)
            self._changed.notify_all()
        return Response(status_code=received.status)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/listener", self._receive, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + WAIT
        while not self._server.started:  # uvicorn exposes no awaitable for this; bounded by the deadline
            if self._task.done():
                self._task.result()
            assert time.monotonic() < deadline, "listener did not start"
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, WAIT)
        self._server = self._task = None

    async def wait_for(self, predicate: Callable[[Listener], bool], within: float = WAIT) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))


@contextlib.asynccontextmanager
async def listening(status: int = 201) -> AsyncIterator[Listener]:
    listener = Listener(status=status)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


def event_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings with small timings; PostgreSQL databases get the LISTEN/NOTIFY bus."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "migrate_on_start": False,
        "bus_url": "postgresql://" if database_url.startswith("postgresql") else "memory://",
        "bus_poll_interval": 0.05,
        "hub_poll_interval": 0.05,
        "hub_retry_base": 0.02,
        "hub_retry_cap": 0.1,
        "hub_max_attempts": 1000,
        "hub_timeout": 2.0,
        "hub_lease": 5.0,
        "hub_callback_allow": ["127.0.0.0/8", "::1/128"],  # the tests' listeners are local
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Running:
    app: Starlette
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    """An app with its lifespan entered (bus, relay, dispatcher running) and a client over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app, client)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT, what: str = "condition") -> None:
    """Poll an external state (database rows, HTTP answers) until it holds, bounded by `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def bundle(name: str = "bundle", members: int = 2) -> dict[str, Any]:
    """A bundle created by value with its members, in one request."""
    return {
        "name": name,
        "state": "designed",
        "isBundle": True,
        "serviceSpecification": {"name": "bundleSpec"},
        "supportingService": [
            {"name": f"{name}-member-{i}", "state": "designed", "serviceSpecification": {"name": "memberSpec"}}
            for i in range(members)
        ],
    }


def simple(name: str, state: str = "designed") -> dict[str, Any]:
    return {"name": name, "state": state, "serviceSpecification": {"name": "spec"}}
