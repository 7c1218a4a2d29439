"""Events in the outbox: the TMF688 envelope of REST_CONTRACT.md, and one correlation id per request."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from resolvers.validation import validate
from store.outbox import OutboxEvent
from tests.events.support import API, bundle

ENVELOPE = {"@type", "eventId", "eventTime", "eventType", "correlationId", "domain", "title", "description",
            "priority", "timeOcurred", "timeOccurred", "event"}


async def outbox(app: Starlette, after: int = 0) -> list[OutboxEvent]:
    async with app.state.resolvers.store.read() as uow:
        events: list[OutboxEvent] = await uow.outbox.after(after, 10_000)
    return events


async def last_seq(app: Starlette) -> int:
    async with app.state.resolvers.store.read() as uow:
        seq: int = await uow.outbox.last_seq()
    return seq


async def test_every_event_of_one_request_carries_the_callers_correlation_id(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    created = await client.post(f"{API}/service", json=bundle("b", members=3),
                                headers={"X-Correlation-ID": "order-17"})
    assert created.status_code == 201, created.text
    events = await outbox(app)
    assert [e.event_type for e in events] == ["ServiceCreateEvent"] * 4
    assert {e.correlation_id for e in events} == {"order-17"}
    assert {e.payload["correlationId"] for e in events} == {"order-17"}

    mark = await last_seq(app)
    patched = await client.patch(
        f"{API}/service/{created.json()['id']}",
        json={"state": "reserved", "description": "now reserved",
              "supportingService": [*({"id": m["id"]} for m in created.json()["supportingService"]),
                                    {"name": "late member", "state": "reserved",
                                     "serviceSpecification": {"name": "memberSpec"}}]},
        headers={"X-Correlation-ID": "order-18", "content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    events = await outbox(app, mark)
    # The member given by value in the patch is a new service: its creation is announced before the change.
    assert [e.event_type for e in events] == [
        "ServiceCreateEvent", "ServiceAttributeValueChangeEvent", "ServiceStateChangeEvent"]
    assert events[0].payload["event"]["service"]["name"] == "late member"
    assert {e.correlation_id for e in events} == {"order-18"}


async def test_without_a_header_each_request_gets_one_generated_id(app: Starlette, client: httpx.AsyncClient) -> None:
    first = await client.post(f"{API}/service", json=bundle("one"))
    second = await client.post(f"{API}/service", json=bundle("two"))
    assert first.status_code == second.status_code == 201
    events = await outbox(app)
    ids = [e.correlation_id for e in events]
    assert len(set(ids[:3])) == 1 and len(set(ids[3:])) == 1 and ids[0] != ids[3]
    assert all(isinstance(i, str) and len(i) >= 32 for i in ids)


def check_envelope(event: OutboxEvent) -> dict[str, Any]:
    env = event.payload
    assert set(env) >= ENVELOPE, set(env)
    assert env["@type"] == env["eventType"] == event.event_type
    assert env["eventId"] == event.event_id
    assert env["timeOcurred"] == env["timeOccurred"] == env["eventTime"] and env["eventTime"].endswith("Z")
    assert ("fieldPath" in env) == event.event_type.endswith("AttributeValueChangeEvent")
    validate(event.event_type, env)  # the TMF640 swagger's definition of this event, resource included
    service: dict[str, Any] = env["event"]["service"]
    return service


async def test_envelope_and_the_resource_as_it_stood(app: Starlette, client: httpx.AsyncClient) -> None:
    created = (await client.post(f"{API}/service", json=bundle("env"))).json()
    sid = created["id"]
    await client.patch(f"{API}/service/{sid}", json={"name": "renamed", "state": "active"})
    await client.delete(f"{API}/service/{sid}")
    events = await outbox(app)
    assert [e.event_type for e in events] == ["ServiceCreateEvent"] * 3 + [
        "ServiceAttributeValueChangeEvent", "ServiceStateChangeEvent", "ServiceDeleteEvent"]
    services = [check_envelope(e) for e in events]
    # members before the bundle: a listener learns of a bundle after its parts
    assert {s["id"] for s in services[:2]} == {m["id"] for m in created["supportingService"]}
    assert services[2]["id"] == sid
    assert services[2] == created  # the bundle as created, members rendered by value
    assert events[3].payload["fieldPath"] == "name"
    assert services[3]["name"] == services[4]["name"] == "renamed"
    assert services[4]["state"] == "active" and services[5]["state"] == "active"  # delete: as it was
    assert all(s["href"].endswith(f"{API}/service/{s['id']}") for s in services)
