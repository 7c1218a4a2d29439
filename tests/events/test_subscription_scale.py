"""Subscriptions at scale against a real uvicorn server: a burst larger than the connection pool leaves the
background workers working; subscribers of one selection share one rendering; a slow one is let go of and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest

from schema import fanout
from store.db import CLIENT_POOL
from tests.events.support import API, WAIT, event_settings, eventually, listening
from tests.events.ws import Served, first_event_id, next_event, raw_subscription, serving
from tests.graphql import finished

pytestmark = pytest.mark.e2e

CREATED = """
subscription Created($after: String) {
  serviceChanged(after: $after, eventTypes: [ServiceCreateEvent]) { eventId service { id etag } }
}"""
CREATE = """mutation C($input: JSON!) { createService(input: $input) {
  __typename ... on ServicePayload { monitor { id } } } }"""


def service(id: str) -> dict[str, Any]:
    return {"id": id, "name": id, "state": "active", "serviceSpecification": {"name": "s"}}


async def until_created(ws: Any, id: str) -> dict[str, Any]:
    """Events of this subscription until the creation of `id` (every one a `next` without errors)."""
    while True:
        event = await next_event(ws, within=WAIT * 3)
        if event["service"]["id"] == id:
            return event


async def test_a_burst_larger_than_the_pool_leaves_the_workers_working(database_url: str) -> None:
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    size, overflow = CLIENT_POOL[backend]
    resuming = live = size + overflow + 10  # each kind alone is more than the pool holds
    async with serving(event_settings(database_url)) as served, listening() as listener, \
            contextlib.AsyncExitStack() as stack:
        async with httpx.AsyncClient(base_url=served.http, timeout=WAIT) as http:
            hub = await http.post(f"{API}/hub", json={"callback": listener.url,
                                                      "query": "eventType=ServiceCreateEvent"})
            assert hub.status_code == 201, hub.text
        start = await first_event_id(served)
        bus = served.app.state.events.bus
        before = bus.status.subscribers

        async def subscribe(after: str | None) -> Any:
            return await stack.enter_async_context(raw_subscription(served.ws, CREATED, after=after))

        # The burst, with an activation submitted while it opens (runner, relay and dispatcher all needed).
        opening = [asyncio.create_task(subscribe(start)) for _ in range(resuming)]
        opening += [asyncio.create_task(subscribe(None)) for _ in range(live)]
        work = await served.graphql(CREATE, {"input": service("during-burst")})
        sockets = await asyncio.gather(*opening)
        monitor = await finished(served.app, work["createService"]["monitor"]["id"], WAIT * 3)
        assert monitor["state"] == "Completed", monitor
        await listener.wait_for(lambda x: any(e["event"]["service"]["id"] == "during-burst" for e in x.events),
                                within=WAIT * 3)
        for ws in sockets[:resuming]:  # replayed from the outbox (or live), none lost
            await until_created(ws, "during-burst")

        async def all_running() -> bool:  # every resuming stream on the bus, the live ones as one rendering
            return bool(bus.status.subscribers == before + resuming + 1)

        await eventually(all_running, within=WAIT * 3, what="every subscription to run")
        await served.graphql(CREATE, {"input": service("after-burst")})
        events = [await until_created(ws, "after-burst") for ws in sockets]
        assert len({e["eventId"] for e in events}) == 1 and events[0]["service"]["etag"] == '"1"'
        async with httpx.AsyncClient(base_url=served.http, timeout=WAIT) as http:
            health = (await http.get("/health")).json()
        assert health["status"] == "ok", health


async def test_subscribers_of_one_selection_share_one_rendering(database_url: str) -> None:
    other = "subscription { serviceChanged(eventTypes: [ServiceCreateEvent]) { eventId } }"
    async with serving(event_settings(database_url)) as served, contextlib.AsyncExitStack() as stack:
        bus = served.app.state.events.bus
        before, renderings = bus.status.subscribers, fanout.RENDERINGS._value.get()
        same = [await stack.enter_async_context(raw_subscription(served.ws, CREATED)) for _ in range(5)]
        different = await stack.enter_async_context(raw_subscription(served.ws, other))

        async def two() -> bool:
            return bool(bus.status.subscribers == before + 2)

        await eventually(two, what="two renderings on the bus")
        assert fanout.RENDERINGS._value.get() == renderings + 2
        await served.graphql(CREATE, {"input": service("shared")})
        events = [await next_event(ws) for ws in same]
        assert all(e == events[0] for e in events) and events[0]["service"]["id"] == "shared"
        assert (await next_event(different))["eventId"] == events[0]["eventId"]
        # the last subscriber of a selection leaving ends its rendering, which leaves the bus
        await different.close()

        async def one() -> bool:
            return bool(bus.status.subscribers == before + 1)

        await eventually(one, what="the rendering to leave the bus")


async def test_a_slow_subscriber_is_let_go_of_and_resumes_after_its_last_event(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "SUBSCRIBER_QUEUE", 1)
    sent: list[str] = []
    stalled = asyncio.Event()
    real_send = fanout.SharedRenderingMixin._send_text

    async def slow_send(self: Any, text: str) -> None:  # the first subscriber's socket stops draining a while
        if not sent:
            sent.append(text)
            await stalled.wait()
        await real_send(self, text)

    monkeypatch.setattr(fanout.SharedRenderingMixin, "_send_text", slow_send)
    async with serving(event_settings(database_url)) as served:
        let_go = fanout.LET_GO._value.get()
        async with raw_subscription(served.ws, CREATED) as one, raw_subscription(served.ws, CREATED) as two:
            await _await_rendering(served)
            ids = [f"burst-{i}" for i in range(4)]
            for id in ids:
                await served.graphql(CREATE, {"input": service(id)})

            async def dropped() -> bool:
                return bool(fanout.LET_GO._value.get() > let_go)

            await eventually(dropped, what="the stalled subscriber to be let go of")
            stalled.set()

            async def four(ws: Any) -> list[str]:
                return [(await next_event(ws))["service"]["id"] for _ in ids]

            got = await asyncio.gather(four(one), four(two))
        assert list(got) == [ids, ids]  # nothing lost, nothing repeated, in order


async def _await_rendering(served: Served) -> None:
    bus = served.app.state.events.bus

    async def on_bus() -> bool:
        return bool(bus.status.subscribers >= 1)

    await eventually(on_bus, what="the rendering to start")


def test_a_resumed_document_asks_for_the_events_after_the_last_one_sent() -> None:
    plan = fanout.plan_of("subscription S($t: [EventType!]) { serviceChanged(eventTypes: $t, after: null) "
                          "{ eventId } }", None)
    assert plan is not None and not fanout.resumes(plan, {})
    document = fanout.resumed_after(plan, 'ev-"1"')
    resumed = fanout.plan_of(document, None)
    assert resumed is not None and fanout.resumes(resumed, {})
    assert 'after: "ev-\\"1\\""' in document and "eventTypes: $t" in document
    assert fanout.plan_of("query { __typename }", None) is None
    assert fanout.plan_of("subscription { a: events { eventId } b: events { eventId } }", None) is None
    query = "subscription($a: String) { events(after: $a) { eventId } }"
    variable = fanout.plan_of(query, None)
    assert variable is not None and fanout.resumes(variable, {"a": "x"}) and not fanout.resumes(variable, {})
    assert fanout.resumed_request(variable, query, {"a": None}, "ev-2") == (query, {"a": "ev-2"})
