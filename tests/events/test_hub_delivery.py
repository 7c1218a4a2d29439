"""Hub delivery to a real HTTP listener: order, envelope, filter, signature, outages, restarts, give-up."""

from __future__ import annotations

from itertools import groupby
from typing import Any

import httpx

from resolvers.rules.delivery import SIGNATURE_HEADER, verify
from resolvers.rules.matching import matches, parse_event_query
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS
from tests.events.support import (
    API,
    Listener,
    Running,
    bundle,
    event_settings,
    eventually,
    listening,
    running,
    simple,
)

ACTIVE_STATES = "eventType=ServiceStateChangeEvent&event.service.state=active"


async def register(client: httpx.AsyncClient, callback: str, **extra: Any) -> str:
    response = await client.post(f"{API}/hub", json={"callback": callback, **extra})
    assert response.status_code == 201, response.text
    hub_id: str = response.json()["id"]
    return hub_id


async def outbox_after(r: Running, seq: int) -> list[OutboxEvent]:
    async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        events: list[OutboxEvent] = await uow.outbox.after(seq, 100_000)
    return events


async def registered_at(r: Running) -> int:
    async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        seq: int = await uow.outbox.last_seq()
    return seq


async def hub_status(client: httpx.AsyncClient, hub_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/hub/{hub_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(client: httpx.AsyncClient, hub_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/hub/{hub_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def resource(event: OutboxEvent) -> dict[str, Any]:
    body: dict[str, Any] = event.payload["event"]
    found: dict[str, Any] = body.get("service") or body["monitor"]
    return found


def requests_in(events: list[OutboxEvent]) -> list[str | None]:
    """The correlation ids of `events`, one per run: each request's events, its work's included, are together."""
    return [cid for cid, _ in groupby(e.correlation_id for e in events)]


def check_monitors(events: list[OutboxEvent]) -> None:
    """Each request's Monitor is in the outbox: created, then Completed (at once when no driver was needed)."""
    by_request: dict[str | None, list[tuple[str, str]]] = {}
    for e in events:
        if e.event_type in ("MonitorCreateEvent", "MonitorStateChangeEvent"):
            by_request.setdefault(e.correlation_id, []).append((e.event_type, resource(e)["state"]))
    assert set(by_request) == set(requests_in(events))
    for cid, states in by_request.items():
        assert states in ([("MonitorCreateEvent", "InProgress"), ("MonitorStateChangeEvent", "Completed")],
                          [("MonitorCreateEvent", "Completed")]), (cid, states)


async def change_sequence(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Create a bundle by value with members, activate it, suspend a member, delete the bundle.

    One correlation id each. Every request waits for its work (no `Prefer: respond-async`), so when this
    returns the outbox holds every event the sequence causes. Returns the bundle's and the members' ids.
    """
    created = await client.post(f"{API}/service", json=bundle("seq", members=2), headers={"X-Correlation-ID": "c1"})
    assert created.status_code == 201, created.text
    bid = created.json()["id"]
    members = [m["id"] for m in created.json()["supportingService"]]
    steps = [(bid, {"state": "active", "description": "live"}, "c2"), (members[0], {"state": "inactive"}, "c3")]
    for sid, body, corr in steps:
        patched = await client.patch(f"{API}/service/{sid}", json=body, headers={"X-Correlation-ID": corr})
        assert patched.status_code == 200, patched.text
    assert (await client.delete(f"{API}/service/{bid}", headers={"X-Correlation-ID": "c4"})).status_code == 204
    return bid, members


async def test_listener_receives_every_event_in_order_filtered_and_signed(database_url: str) -> None:
    async with listening() as everything, listening() as active_only, running(event_settings(database_url)) as r:
        all_hub = await register(r.client, everything.url, secret="k3y")
        active_hub = await register(r.client, active_only.url, query=ACTIVE_STATES)
        start = await registered_at(r)
        bid, members = await change_sequence(r.client)
        expected = await outbox_after(r, start)
        assert requests_in(expected) == ["c1", "c2", "c3", "c4"]
        check_monitors(expected)
        assert {e.event_type for e in expected} == {
            "ServiceCreateEvent", "ServiceAttributeValueChangeEvent", "ServiceStateChangeEvent", "ServiceDeleteEvent",
            "MonitorCreateEvent", "MonitorAttributeValueChangeEvent", "MonitorStateChangeEvent"}

        await everything.wait_for(lambda lis: len(lis.accepted) >= len(expected))
        await eventually(lambda: _caught_up(r.client, all_hub, expected[-1].seq), what="the last record")
        assert everything.events == [e.payload for e in expected]  # in order, each once, the stored envelope
        for request, event in zip(everything.accepted, expected, strict=True):
            assert request.headers["content-type"] == "application/json"
            assert request.headers["x-tmf640-event-id"] == event.event_id
            assert request.headers["x-correlation-id"] == event.correlation_id
            assert verify("k3y", request.body, request.headers[SIGNATURE_HEADER.lower()])
            assert not verify("other", request.body, request.headers[SIGNATURE_HEADER.lower()])

        # The filter: only the bundle activation's state changes to active, the members before the bundle.
        wanted = [e for e in expected if matches(parse_event_query(ACTIVE_STATES), e.payload)]
        assert [resource(e)["id"] for e in wanted][-1] == bid
        assert sorted(resource(e)["id"] for e in wanted) == sorted([bid, *members])
        assert {e.correlation_id for e in wanted} == {"c2"}
        await eventually(lambda: _caught_up(r.client, active_hub, expected[-1].seq), what="the filtered hub")
        assert active_only.events == [e.payload for e in wanted]
        assert SIGNATURE_HEADER.lower() not in active_only.accepted[0].headers  # no secret, no signature
        attempts = await deliveries(r.client, all_hub)
        assert [a["eventId"] for a in reversed(attempts)] == [e.event_id for e in expected]
        assert all(a["delivered"] and a["statusCode"] == 201 and a["attempt"] == 1 for a in attempts)


async def _caught_up(client: httpx.AsyncClient, hub_id: str, seq: int) -> bool:
    return bool((await hub_status(client, hub_id))["deliveredUpToSeq"] >= seq)


async def test_outage_and_restart_lose_nothing(database_url: str) -> None:
    settings = event_settings(database_url)
    listener = Listener()
    await listener.start()
    try:
        async with running(settings) as first:
            hub_id = await register(first.client, listener.url)
            start = await registered_at(first)
            response = await first.client.post(f"{API}/service", json=simple("a"))
            assert response.status_code == 201, response.text
            created = response.json()
            # Everything of the first request delivered (nothing in flight), then the listener goes away.
            delivered_before = await registered_at(first)
            await eventually(lambda: _caught_up(first.client, hub_id, delivered_before), what="the first request")

            await listener.stop()  # connections refused from here on
            other = (await first.client.post(f"{API}/service", json=simple("b"))).json()
            patched = await first.client.patch(f"{API}/service/{other['id']}", json={"state": "reserved"})
            assert patched.status_code == 200, patched.text
            await eventually(lambda: _failed_attempts(first.client, hub_id, 2), what="refused attempts")
            missed = await outbox_after(first, delivered_before)
        # The first server is gone; a new one starts on the same database while the listener answers 503.
        listener.status = 503
        await listener.start()
        async with running(settings) as second:
            assert (await second.client.patch(f"{API}/service/{created['id']}", json={"name": "renamed"})).is_success
            assert (await second.client.delete(f"{API}/service/{other['id']}")).status_code == 204
            await listener.wait_for(lambda lis: any(r.status == 503 for r in lis.requests))
            listener.status = 201
            expected = await outbox_after(second, start)
            # what happened: a's creation and rename; b's creation, reservation, termination and removal
            service_events = [(resource(e)["name"], e.event_type, resource(e).get("state")) for e in expected
                              if e.event_type.startswith("Service")]
            assert service_events == [
                ("a", "ServiceCreateEvent", None), ("a", "ServiceStateChangeEvent", "designed"),
                ("b", "ServiceCreateEvent", None), ("b", "ServiceStateChangeEvent", "designed"),
                ("b", "ServiceStateChangeEvent", "reserved"),
                ("renamed", "ServiceAttributeValueChangeEvent", "designed"),
                ("b", "ServiceStateChangeEvent", "terminated"), ("b", "ServiceDeleteEvent", "terminated")]
            check_monitors(expected)
            await listener.wait_for(lambda lis: len(lis.accepted) >= len(expected))
            assert listener.events == [e.payload for e in expected]  # every missed event, in order, once
            # The listener answers before the server records the attempt: wait for the record.
            await eventually(lambda: _caught_up(second.client, hub_id, expected[-1].seq), what="the last record")
            attempts = await deliveries(second.client, hub_id)
            refused = [a for a in attempts if a["statusCode"] is None]
            unavailable = [a for a in attempts if a["statusCode"] == 503]
            assert refused and all("Connect" in a["error"] for a in refused)
            assert unavailable and all(a["error"].startswith("HTTP 503") for a in unavailable)
            # one event in flight at a time: every failure was the first missed event, retried until accepted
            assert {a["eventId"] for a in attempts if not a["delivered"]} == {missed[0].event_id}
            assert {a["eventId"] for a in attempts if a["delivered"]} == {e.event_id for e in expected}
            assert (await hub_status(second.client, hub_id))["failedAttempts"] == 0
    finally:
        await listener.stop()


async def _failed_attempts(client: httpx.AsyncClient, hub_id: str, n: int) -> bool:
    return len([a for a in await deliveries(client, hub_id) if not a["delivered"]]) >= n


async def test_gives_up_then_resumes_from_where_it_stopped(database_url: str) -> None:
    async with listening(status=503) as listener, running(event_settings(database_url, hub_max_attempts=3)) as r:
        hub_id = await register(r.client, listener.url)
        start = await registered_at(r)
        assert (await r.client.post(f"{API}/service", json=simple("x"))).status_code == 201
        await eventually(lambda: _state_is(r.client, hub_id, "failing"), what="the hub to be marked failing")
        status = await hub_status(r.client, hub_id)
        assert status["failedAttempts"] == 3 and status["lastError"].startswith("HTTP 503")
        assert [a["attempt"] for a in await deliveries(r.client, hub_id)] == [3, 2, 1]

        assert (await r.client.post(f"{API}/service", json=simple("y"))).status_code == 201  # kept, not sent
        assert [a["attempt"] for a in await deliveries(r.client, hub_id)] == [3, 2, 1]
        listener.status = 201
        resumed = await r.client.post(f"{API}/hub/{hub_id}/resume")
        assert resumed.status_code == 200 and resumed.json()["state"] == "active"
        expected = await outbox_after(r, start)
        assert requests_in(expected) == [expected[0].correlation_id, expected[-1].correlation_id]  # x's, y's
        await listener.wait_for(lambda lis: len(lis.accepted) >= len(expected))
        assert listener.events == [e.payload for e in expected]
        await eventually(lambda: _caught_up(r.client, hub_id, expected[-1].seq), what="the last record")
        # newest first: every event accepted once, the first one at once after the resume (which restarts the
        # count), then that first event's 3 failures
        attempts = await deliveries(r.client, hub_id)
        assert [(a["eventId"], a["attempt"], a["delivered"]) for a in attempts] == [
            *((e.event_id, 1, True) for e in reversed(expected)),
            *((expected[0].event_id, n, False) for n in (3, 2, 1))]


async def _state_is(client: httpx.AsyncClient, hub_id: str, state: str) -> bool:
    return bool((await hub_status(client, hub_id))["state"] == state)


async def test_unregistered_listener_gets_nothing_more(database_url: str) -> None:
    async with listening() as listener, running(event_settings(database_url)) as r:
        hub_id = await register(r.client, listener.url)
        keeper = await register(r.client, f"{listener.url}?keeper=1")
        start = await registered_at(r)
        assert (await r.client.post(f"{API}/service", json=simple("one"))).status_code == 201
        first = await outbox_after(r, start)
        for hub in (hub_id, keeper):
            await eventually(lambda: _caught_up(r.client, hub, first[-1].seq), what="both hubs")  # noqa: B023
        assert (await r.client.delete(f"{API}/hub/{hub_id}")).status_code == 204
        assert (await r.client.post(f"{API}/service", json=simple("two"))).status_code == 201
        everything = await outbox_after(r, start)
        await eventually(lambda: _caught_up(r.client, keeper, everything[-1].seq), what="the remaining hub")

        def received_by(hub: str) -> list[dict[str, Any]]:
            return [q.event for q in listener.accepted if q.headers["x-tmf640-hub-id"] == hub]

        assert received_by(hub_id) == [e.payload for e in first]  # nothing of "two"
        assert received_by(keeper) == [e.payload for e in everything]
        assert {resource(e)["name"] for e in everything if e.event_type.startswith("Service")} == {"one", "two"}
