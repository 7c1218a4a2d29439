"""Test parts for GraphQL subscriptions: a real uvicorn server on a free port, a gql WebSocket client, the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import websockets
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import Settings
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS
from tests.events.support import WAIT, _Server, free_port


@dataclass
class Served:
    """An app served by uvicorn on 127.0.0.1 (lifespan on: bus, relay and dispatcher run)."""

    app: Starlette
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A query or mutation over HTTP; fails on GraphQL errors."""
        async with httpx.AsyncClient(base_url=self.http, timeout=WAIT) as client:
            response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def outbox(self, after: int = 0) -> list[OutboxEvent]:
        """Every committed event after seq `after`, read from the outbox table (not through any API)."""
        out: list[OutboxEvent] = []
        async with self.app.state.resolvers.store.read(ALL_TENANTS) as uow:
            while batch := await uow.outbox.after(after, 500):
                out.extend(batch)
                after = batch[-1].seq
        return out

    async def quiet(self) -> None:
        """Wait until the bus has fanned out every committed event, so that a live subscription opened now
        starts after all of them (a live stream begins after the bus's high water; on PostgreSQL the fan-out
        follows a commit by a NOTIFY)."""
        async with self.app.state.resolvers.store.read(ALL_TENANTS) as uow:
            end = await uow.outbox.last_seq()
        bus = self.app.state.events.bus
        deadline = time.monotonic() + WAIT
        while bus.high_water < end:  # bounded wait for the bus's own listener task
            assert time.monotonic() < deadline, f"the bus stayed at {bus.high_water}, the outbox ends at {end}"
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Served]:
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            ws_ping_interval=settings.ws_ping_interval, ws_ping_timeout=settings.ws_ping_timeout)
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + WAIT
        while not server.started:  # uvicorn exposes no awaitable for this; bounded by the deadline
            if task.done():
                task.result()
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.01)
        yield Served(app, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)


@dataclass
class Subscriber:
    """One subscription over its own graphql-transport-ws connection (gql), collecting what it receives."""

    url: str
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        transport = WebsocketsTransport(url=self.url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = gql(self.document)
                request.variable_values = self.variables
                async for result in session.subscribe(request):
                    async with self._changed:
                        self.received.append(next(iter(result.values())))
                        self._changed.notify_all()
        except Exception as exc:  # kept for the test to assert on
            async with self._changed:
                self.error = exc
                self._changed.notify_all()

    def start(self) -> Subscriber:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Go away: cancel the client, which closes its WebSocket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, count: int, within: float = WAIT) -> list[dict[str, Any]]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count or self.error is not None)
        if self.error is not None and len(self.received) < count:
            raise self.error
        return self.received

    async def wait_error(self, within: float = WAIT) -> BaseException:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.error is not None)
        assert self.error is not None
        return self.error


@contextlib.asynccontextmanager
async def subscribed(url: str, document: str, **variables: Any) -> AsyncIterator[Subscriber]:
    sub = Subscriber(url, document, variables).start()
    try:
        yield sub
    finally:
        await sub.stop()


async def until_equal(
    sub: Subscriber, expected: Any, within: float = WAIT, keep: Callable[[dict[str, Any]], bool] | None = None
) -> None:
    """Wait until the ids of the subscriber's events (those `keep` accepts, if given) equal `expected()` (an async
    callable over the outbox).

    What was received is counted before the outbox is read, and the wait is for more than that count: events that
    arrive while the outbox is read (the last ones, often) end the wait at once instead of being waited for again.
    """
    deadline = time.monotonic() + within
    while True:
        seen = len(sub.received)
        got = [e["eventId"] for e in sub.received[:seen] if keep is None or keep(e)]
        want = await expected()  # read after `got`: whatever was received is committed, so in it
        if got == want:
            return
        if got != want[:len(got)] or sub.error is not None or time.monotonic() > deadline:
            raise AssertionError(f"received {got}, outbox has {want}; error: {sub.error!r}")
        try:  # wake on the next event, or re-read the outbox (it may still be growing) after a short while
            async with asyncio.timeout(0.2), sub._changed:
                await sub._changed.wait_for(lambda: len(sub.received) > seen)  # noqa: B023 (awaited here)
        except TimeoutError:
            pass


async def first_event_id(served: Served) -> str:
    """Commit one unrelated change and return its event id: subscriptions started `after` it miss nothing."""
    await served.graphql('mutation { createService(input: {name: "warm-up", state: "designed", '
                         'serviceSpecification: {name: "s"}}) { __typename } }')
    return (await served.outbox())[-1].event_id


@contextlib.asynccontextmanager
async def raw_subscription(url: str, document: str, **variables: Any) -> AsyncIterator[websockets.ClientConnection]:
    """One subscription over its own connection, spoken by hand (graphql-transport-ws): read its messages with
    `message`, to tell an `error` message from a `next` carrying errors."""
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": document, "variables": variables}}))
        yield ws


async def message(ws: websockets.ClientConnection, within: float = WAIT) -> dict[str, Any]:
    """The next message the server sends (bounded wait)."""
    async with asyncio.timeout(within):
        received: dict[str, Any] = json.loads(await ws.recv())
    return received


async def next_event(ws: websockets.ClientConnection, within: float = WAIT) -> dict[str, Any]:
    """The data of the next `next` message, failing on any other message or on errors."""
    got = await message(ws, within)
    assert got["type"] == "next" and "errors" not in got["payload"], got
    data: dict[str, Any] = next(iter(got["payload"]["data"].values()))
    return data
