"""WebSocket init, subscriptions, replay with `after` and hub delivery with two tenants: A gets nothing of B."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.events.support import API, WAIT, eventually, listening
from tests.events.ws import Served, serving
from tests.security.support import auth, finished, secured_settings

EVENTS = "subscription($after: String) { events(after: $after) { eventId eventType } }"
CREATE = 'mutation($n: String!) { createService(input: {name: $n, state: "designed", serviceSpecification: {name: "s"}}) { ... on ServicePayload { service { id } monitor { id } } } }'  # noqa: E501


async def mutate(served: Served, key: str, name: str) -> str:
    import httpx
    async with httpx.AsyncClient(base_url=served.http, timeout=WAIT) as client:
        body = (await client.post("/graphql", json={"query": CREATE, "variables": {"n": name}},
                                  headers=auth(key))).json()
    assert "errors" not in body, body
    payload = body["data"]["createService"]
    if payload.get("monitor"):
        await finished(served.app, payload["monitor"]["id"])  # its events are all committed
    sid: str = payload["service"]["id"]
    return sid


async def tenant_events(served: Served, tenant: str) -> list[Any]:
    return [e for e in await served.outbox() if e.tenant == tenant]


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    async with serving(secured_settings(database_url)) as s:
        yield s


async def _close_code(url: str, init: dict[str, Any] | None, headers: dict[str, str] | None = None) -> int | None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  additional_headers=headers or {}) as ws:
        try:
            await ws.send(json.dumps({"type": "connection_init", **({"payload": init} if init is not None else {})}))
            async with asyncio.timeout(WAIT):
                reply = json.loads(await ws.recv())
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        assert reply["type"] == "connection_ack", reply
        return None


async def test_websocket_init_needs_credentials(served: Served) -> None:
    assert await _close_code(served.ws, None) == 4401
    assert await _close_code(served.ws, {"Authorization": "Bearer wrong"}) == 4401
    assert await _close_code(served.ws, {"Authorization": "Bearer key-a-read"}) is None  # acknowledged
    assert await _close_code(served.ws, {}, auth("key-a-read")) is None  # or the upgrade request's header
    assert await _close_code(served.ws, {}, auth("wrong")) == 4401


@contextlib.asynccontextmanager
async def subscription(served: Served, key: str, after: str | None = None) -> AsyncIterator[
        tuple[list[dict[str, Any]], list[BaseException]]]:
    received: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    async def run() -> None:
        transport = WebsocketsTransport(url=served.ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                        init_payload={"Authorization": f"Bearer {key}"})
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = gql(EVENTS)
                request.variable_values = {"after": after}
                async for result in session.subscribe(request):
                    received.append(result["events"])
        except Exception as exc:
            failures.append(exc)

    task = asyncio.create_task(run())
    try:
        yield received, failures
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Any, what: str) -> None:
    await eventually(check, WAIT, what)


async def test_subscriptions_and_replay_see_only_the_callers_tenant(served: Served) -> None:
    first_a = await mutate(served, "key-a-write", "a-first")
    await until(lambda: _has(served, "tenant-a", 1), "A's first events")
    a_after = (await tenant_events(served, "tenant-a"))[-1].event_id
    await mutate(served, "key-b-admin", "b-first")
    await until(lambda: _has(served, "tenant-b", 1), "B's events")
    b_event = (await tenant_events(served, "tenant-b"))[0].event_id
    async with subscription(served, "key-a-read") as (live, live_errors), \
            subscription(served, "key-a-read", after=a_after) as (replayed, _), \
            subscription(served, "key-a-read", after=b_event) as (_, refused):
        await mutate(served, "key-b-admin", "b-second")
        await mutate(served, "key-a-write", "a-second")
        await until(lambda: _done(served, "tenant-a", live, a_after), "A's live events")
        await until(lambda: _done(served, "tenant-a", replayed, a_after), "A's replayed events")
        await until(lambda: _true(bool(refused)), "refusal of B's event id")
    b_ids = {e.event_id for e in await tenant_events(served, "tenant-b")}
    a_ids = [e.event_id for e in await tenant_events(served, "tenant-a")]
    assert not live_errors
    assert not b_ids & {e["eventId"] for e in live + replayed}
    assert [e["eventId"] for e in replayed] == a_ids[a_ids.index(a_after) + 1:]
    assert "no event with id" in str(refused[0])  # B's event is unknown to A, as an id nobody has
    assert first_a


async def _true(value: bool) -> bool:
    return value


async def _has(served: Served, tenant: str, count: int) -> bool:
    return len(await tenant_events(served, tenant)) >= count


async def _done(served: Served, tenant: str, got: list[dict[str, Any]], after: str) -> bool:
    ids = [e.event_id for e in await tenant_events(served, tenant)]
    want = ids[ids.index(after) + 1:]
    return bool(want) and {e["eventId"] for e in got} >= set(want)


async def test_hub_delivers_only_the_listeners_tenant(served: Served) -> None:
    import httpx
    async with listening() as listener, httpx.AsyncClient(base_url=served.http, timeout=WAIT) as client:
        created = await client.post(f"{API}/hub", json={"callback": listener.url}, headers=auth("key-a-admin"))
        assert created.status_code == 201, created.text
        b_service = await mutate(served, "key-b-admin", "b-service")
        a_service = await mutate(served, "key-a-write", "a-service")
        await listener.wait_for(lambda lst: any(e["event"].get("service", {}).get("id") == a_service
                                                for e in lst.events))
        a_events = {e.event_id for e in await tenant_events(served, "tenant-a")}
        await listener.wait_for(lambda lst: {e["eventId"] for e in lst.events} >= a_events)
        got = listener.events
        assert {e["eventId"] for e in got} <= a_events
        assert all(e["event"].get("service", {}).get("id") != b_service for e in got)
        listed = await client.get(f"{API}/hub", headers=auth("key-b-admin"))
        assert listed.headers["X-Total-Count"] == "0"
