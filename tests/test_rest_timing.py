"""When writes answer (202 + Monitor, or a bounded wait for the result), and how Monitors are read."""

from __future__ import annotations

import asyncio

from tests.engine_support import API, WAIT, Harness, MakeHarness, h, harness_factory, service, summary

__all__ = ["h", "harness_factory"]


async def test_respond_async_gives_202_and_the_monitor(h: Harness) -> None:
    gate = h.driver.hold(action="activate")
    response = await h.post(service("async"), asynchronous=True)
    assert response.status_code == 202
    monitor = response.json()
    assert response.headers["location"] == monitor["href"]
    assert response.headers["preference-applied"] == "respond-async"
    assert monitor["@type"] == "Monitor" and monitor["state"] == "InProgress"
    assert monitor["request"]["method"] == "POST" and monitor["request"]["to"].endswith("/service")
    assert monitor["response"]["statusCode"] == "202"
    assert monitor["sourceHref"] == summary(monitor)["service"]["href"]
    assert (await h.client.get(monitor["href"])).json()["state"] == "InProgress"
    gate.release()
    done = await h.finished(monitor["id"])
    assert done["state"] == "Completed" and done["response"]["statusCode"] == "201"


async def test_a_write_waits_at_most_the_configured_bound(harness_factory: MakeHarness) -> None:
    h = await harness_factory(sync_wait_seconds=0.2)
    gate = h.driver.hold(action="activate")
    response = await h.post(service("slow"))  # no Prefer: waits the bound, then hands over the Monitor
    assert response.status_code == 202
    assert response.json()["state"] == "InProgress"
    assert "preference-applied" not in response.headers
    gate.release()
    assert (await h.finished(response.json()["id"]))["state"] == "Completed"


async def test_prefer_wait_shortens_the_bound(h: Harness) -> None:
    gate = h.driver.hold(action="activate")
    response = await h.post(service("impatient"), headers={"Prefer": "wait=0"})
    assert response.status_code == 202 and response.json()["state"] == "InProgress"
    gate.release()
    await h.finished(response.json()["id"])


async def test_a_write_that_finishes_within_the_bound_answers_with_the_result(h: Harness) -> None:
    sid = (await h.post(service("line"))).json()["id"]
    patched = await h.patch(sid, {"state": "inactive"})
    assert patched.status_code == 200
    assert patched.json()["state"] == "inactive" and patched.headers["etag"] == '"3"'
    removed = await h.delete(sid)
    assert removed.status_code == 204 and removed.content == b""


async def test_monitor_state_filter_accepts_the_published_spellings(h: Harness) -> None:
    done = (await h.post(service("done"), asynchronous=True)).json()["id"]
    await h.finished(done)
    gate = h.driver.hold(service_id=None, action="activate")
    running = (await h.post(service("running"), asynchronous=True)).json()["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)

    async def ids(state: str) -> set[str]:
        response = await h.client.get(f"{API}/monitor", params={"state": state})
        assert response.status_code == 200, response.text
        return {m["id"] for m in response.json()}

    for spelling in ("Completed", "completed", "COMPLETED"):
        assert await ids(spelling) == {done}
    for spelling in ("InProgress", "In Progress", "inProgress", "in_progress", "IN-PROGRESS"):
        assert await ids(spelling) == {running}
    assert await ids("inProgress,completed") == {done, running}
    assert await ids("InError") == set()
    fields = (await h.client.get(f"{API}/monitor/{running}", params={"fields": "state"})).json()
    assert fields == {"id": running, "state": "InProgress"}
    gate.release()
    await h.finished(running)


async def test_monitor_events_go_to_the_outbox_with_the_request_correlation(h: Harness) -> None:
    response = await h.post(service("traced"), asynchronous=True, headers={"X-Correlation-Id": "order-77"})
    monitor_id = response.json()["id"]
    await h.finished(monitor_id)
    monitor_events = [e for e in await h.events() if e["event"].get("monitor", {}).get("id") == monitor_id]
    types = [e["eventType"] for e in monitor_events]
    assert types[0] == "MonitorCreateEvent" and types[-1] == "MonitorStateChangeEvent"
    assert set(types) <= {"MonitorCreateEvent", "MonitorAttributeValueChangeEvent", "MonitorStateChangeEvent"}
    assert {e["correlationId"] for e in monitor_events} == {"order-77"}
    assert monitor_events[-1]["event"]["monitor"]["state"] == "Completed"
    service_events = [e for e in await h.events() if "service" in e["event"]]
    assert {e["correlationId"] for e in service_events} == {"order-77"}
    assert [e["eventType"] for e in service_events] == ["ServiceCreateEvent", "ServiceStateChangeEvent"]
    created = service_events[0]["event"]["service"]
    assert "state" not in created and created["x-activation"][0]["targetState"] == "active"
    assert service_events[1]["event"]["service"]["state"] == "active"


async def test_every_monitor_has_its_create_event(h: Harness) -> None:
    sid = (await h.post(service("line"))).json()["id"]
    await h.patch(sid, {"description": "edited"})
    await h.patch(sid, {"state": "inactive"})
    monitors = (await h.client.get(f"{API}/monitor")).json()
    assert len(monitors) == 3
    created = {e["event"]["monitor"]["id"] for e in await h.events() if e["eventType"] == "MonitorCreateEvent"}
    assert created == {m["id"] for m in monitors}
