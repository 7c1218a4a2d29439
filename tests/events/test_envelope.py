"""Events in the outbox: the TMF688 envelope of REST_CONTRACT.md, and one correlation id per request."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from resolvers.rules.validation import validate
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS
from tests.events.support import API, bundle

ENVELOPE = {"@type", "eventId", "eventTime", "eventType", "correlationId", "domain", "title", "description",
            "priority", "timeOcurred", "timeOccurred", "event"}


async def outbox(app: Starlette, after: int = 0) -> list[OutboxEvent]:
    async with app.state.resolvers.store.read(ALL_TENANTS) as uow:
        events: list[OutboxEvent] = await uow.outbox.after(after, 10_000)
    return events


async def last_seq(app: Starlette) -> int:
    async with app.state.resolvers.store.read(ALL_TENANTS) as uow:
        seq: int = await uow.outbox.last_seq()
    return seq


def resource(event: OutboxEvent) -> dict[str, Any]:
    """The service or monitor an event carries."""
    body: dict[str, Any] = event.payload["event"]
    found: dict[str, Any] = body.get("service") or body["monitor"]
    return found


def state_changes(events: list[OutboxEvent]) -> list[tuple[str, str]]:
    """(service id, new state) of each ServiceStateChangeEvent, in outbox order."""
    return [(resource(e)["id"], resource(e)["state"]) for e in events if e.event_type == "ServiceStateChangeEvent"]


def check_request_monitor(events: list[OutboxEvent], service_id: str) -> None:
    """The request's Monitor: created InProgress, tracking the service, completed by the request's last event."""
    monitor_events = [e for e in events if e.event_type.startswith("Monitor")]
    assert monitor_events[0].event_type == "MonitorCreateEvent" and resource(monitor_events[0])["state"] == "InProgress"
    assert {resource(e)["id"] for e in monitor_events} == {resource(monitor_events[0])["id"]}
    assert all(resource(e)["sourceHref"].endswith(f"{API}/service/{service_id}") for e in monitor_events)
    assert events[-1].event_type == "MonitorStateChangeEvent" and resource(events[-1])["state"] == "Completed"
    # in between, only progress (the summary is rewritten while the work runs): no other state
    assert {e.event_type for e in monitor_events[1:-1]} <= {"MonitorAttributeValueChangeEvent"}


async def test_every_event_of_one_request_carries_the_callers_correlation_id(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    created = await client.post(f"{API}/service", json=bundle("b", members=3),
                                headers={"X-Correlation-ID": "order-17"})
    assert created.status_code == 201, created.text  # answered once the work is done: its events are all in
    bid, members = created.json()["id"], [m["id"] for m in created.json()["supportingService"]]
    events = await outbox(app)
    # One id on everything the request caused: the records, its Monitor, and the work's later state changes.
    assert {e.correlation_id for e in events} == {"order-17"}
    assert {e.payload["correlationId"] for e in events} == {"order-17"}
    # The request: the members' creation before the bundle's, none with a state yet (the as-is), then the Monitor.
    assert [e.event_type for e in events[:5]] == ["ServiceCreateEvent"] * 4 + ["MonitorCreateEvent"]
    assert sorted(resource(e)["id"] for e in events[:3]) == sorted(members) and resource(events[3])["id"] == bid
    assert not any("state" in resource(e) for e in events[:4])
    assert resource(events[3])["x-activation"][0]["monitor"]["id"] == resource(events[4])["id"]
    # The work: each service reaches designed once, the members before the bundle; the Monitor completes last.
    changes = state_changes(events)
    assert sorted(changes[:3]) == sorted((m, "designed") for m in members) and changes[3:] == [(bid, "designed")]
    check_request_monitor(events, bid)
    assert {e.event_type for e in events[5:]} <= {
        "ServiceStateChangeEvent", "MonitorAttributeValueChangeEvent", "MonitorStateChangeEvent"}

    mark = await last_seq(app)
    patched = await client.patch(
        f"{API}/service/{bid}",
        json={"state": "reserved", "description": "now reserved",
              "supportingService": [*({"id": m} for m in members),
                                    {"name": "late member", "state": "reserved",
                                     "serviceSpecification": {"name": "memberSpec"}}]},
        headers={"X-Correlation-ID": "order-18", "content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    events = await outbox(app, mark)
    assert {e.correlation_id for e in events} == {"order-18"}
    assert {e.payload["correlationId"] for e in events} == {"order-18"}
    # The member given by value in the patch is a new service: its creation is announced before the change.
    assert [e.event_type for e in events[:2]] == ["ServiceCreateEvent", "MonitorCreateEvent"]
    late = resource(events[0])
    assert late["name"] == "late member" and "state" not in late
    # Every member (the late one too) is reserved before the bundle, whose changed attributes come with its move.
    changes = state_changes(events)
    assert sorted(changes[:4]) == sorted((m, "reserved") for m in [*members, late["id"]])
    assert changes[4:] == [(bid, "reserved")]
    (changed,) = [e for e in events if e.event_type == "ServiceAttributeValueChangeEvent"]
    assert resource(changed)["id"] == bid and set(changed.payload["fieldPath"].split(",")) == {
        "description", "supportingService"}
    assert resource(changed)["description"] == "now reserved"
    assert late["id"] in {m["id"] for m in resource(changed)["supportingService"]}
    bundle_moved = next(e for e in events if e.event_type == "ServiceStateChangeEvent" and resource(e)["id"] == bid)
    assert changed.seq < bundle_moved.seq
    check_request_monitor(events, bid)


async def test_without_a_header_each_request_gets_one_generated_id(app: Starlette, client: httpx.AsyncClient) -> None:
    first = await client.post(f"{API}/service", json=bundle("one"))
    assert first.status_code == 201
    mark = await last_seq(app)
    second = await client.post(f"{API}/service", json=bundle("two"))
    assert second.status_code == 201
    # each request's events, its Monitor's and its work's included
    ids_first = {e.correlation_id for e in await outbox(app) if e.seq <= mark}
    ids_second = {e.correlation_id for e in await outbox(app, mark)}
    assert len(ids_first) == 1 and len(ids_second) == 1 and ids_first != ids_second
    assert all(isinstance(i, str) and len(i) >= 32 for i in ids_first | ids_second)


def check_envelope(event: OutboxEvent) -> dict[str, Any]:
    env = event.payload
    assert set(env) >= ENVELOPE, set(env)
    assert env["@type"] == env["eventType"] == event.event_type
    assert env["eventId"] == event.event_id
    assert env["timeOcurred"] == env["timeOccurred"] == env["eventTime"] and env["eventTime"].endswith("Z")
    assert ("fieldPath" in env) == event.event_type.endswith("AttributeValueChangeEvent")
    validate(event.event_type, env)  # the TMF640 swagger's definition of this event, resource included
    return resource(event)


def without_activation(service: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in service.items() if k != "x-activation"}


def without_state(service: dict[str, Any]) -> dict[str, Any]:
    """The service as recorded before its driver reached a state: no state, members' neither."""
    out = {k: v for k, v in service.items() if k != "state"}
    if "supportingService" in out:
        out["supportingService"] = [without_state(m) for m in out["supportingService"]]
    return out


async def test_envelope_and_the_resource_as_it_stood(app: Starlette, client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/service", json=bundle("env"))
    assert response.status_code == 201, response.text
    created = response.json()
    sid = created["id"]
    members = {m["id"] for m in created["supportingService"]}
    assert (await client.patch(f"{API}/service/{sid}", json={"name": "renamed", "state": "active"})).status_code == 200
    assert (await client.delete(f"{API}/service/{sid}")).status_code == 204
    events = await outbox(app)
    resources = [check_envelope(e) for e in events]  # Monitor events too
    service_events = [e for e in events if e.event_type.startswith("Service")]
    services = [resource(e) for e in service_events]
    assert all(s["href"].endswith(f"{API}/service/{s['id']}") for s in services)
    assert all(r["href"].endswith(f"{API}/monitor/{r['id']}") for e, r in zip(events, resources, strict=True)
               if e.event_type.startswith("Monitor"))

    # creation: members before the bundle (a listener learns of a bundle after its parts), no state yet
    assert [e.event_type for e in service_events[:3]] == ["ServiceCreateEvent"] * 3
    assert {s["id"] for s in services[:2]} == members and services[2]["id"] == sid
    assert without_activation(services[2]) == without_state(created)  # members rendered by value
    assert services[2]["x-activation"][0]["targetState"] == "designed"
    designed = [s for e, s in zip(service_events, services, strict=True)
                if e.event_type == "ServiceStateChangeEvent" and s["state"] == "designed"]
    assert [s["id"] for s in designed][-1] == sid and {s["id"] for s in designed} == members | {sid}
    assert without_activation(designed[-1]) == created  # the bundle as the 201 returned it, members designed

    # patch: the attribute change and the state change of the bundle come together, when its driver succeeds
    renamed = [(e, s) for e, s in zip(service_events, services, strict=True) if s["id"] == sid][2:]
    kinds = [e.event_type for e, _ in renamed]
    assert kinds == ["ServiceAttributeValueChangeEvent", "ServiceStateChangeEvent",
                     "ServiceStateChangeEvent", "ServiceDeleteEvent"], kinds
    (attr, _), (activated, _), (terminated, _), (deleted, _) = renamed
    assert attr.payload["fieldPath"] == "name"
    assert resource(attr)["name"] == resource(activated)["name"] == "renamed"
    assert resource(activated)["state"] == "active"
    assert all(s["state"] == "active" for s in resource(activated)["supportingService"])  # members first
    # delete: terminated in the network first (the bundle before its members), then the record goes;
    # the delete event carries the service as it was just before it went
    assert resource(terminated)["state"] == "terminated" and resource(deleted)["state"] == "terminated"
    assert service_events[-1] is deleted
    terminations = [c for c in state_changes(events) if c[1] == "terminated"]
    assert terminations[0] == (sid, "terminated") and sorted(terminations[1:]) == sorted(
        (m, "terminated") for m in members)

    # one Monitor per request, each from InProgress to Completed
    monitors: dict[str, list[str]] = {}
    for e, r in zip(events, resources, strict=True):
        if e.event_type.startswith("Monitor"):
            monitors.setdefault(r["id"], []).append(r["state"])
    assert len(monitors) == 3
    assert all(states[0] == "InProgress" and states[-1] == "Completed" for states in monitors.values())
