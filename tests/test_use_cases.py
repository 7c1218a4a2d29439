"""Every use case of the TMF640 user guide, through the REST paths (README, "Use cases").

The simulated driver is the network: its calls show what was asked of it, and in which order.
"""

from __future__ import annotations

import asyncio

from tests.engine_support import API, WAIT, Harness, h, harness_factory, members, service, summary

__all__ = ["h", "harness_factory"]


async def test_create_new_service_to_active(h: Harness) -> None:
    response = await h.post(service("line", "active"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "active"
    assert "x-activation" not in body
    assert response.headers["location"] == body["href"]
    assert h.executed() == [(body["id"], "activate")]
    monitors = (await h.client.get(f"{API}/monitor", params={"sourceHref": body["href"]})).json()
    assert [m["state"] for m in monitors] == ["Completed"]
    assert monitors[0]["response"]["statusCode"] == "201"
    assert monitors[0]["request"]["method"] == "POST"
    types = [e["eventType"] for e in await h.events()]
    assert types == ["ServiceCreateEvent", "MonitorCreateEvent", "ServiceStateChangeEvent",
                     "MonitorAttributeValueChangeEvent", "MonitorStateChangeEvent"]


async def test_check_feasibility(h: Harness) -> None:
    response = await h.post(service("feasible?", "feasibilityChecked"), asynchronous=True)
    assert response.status_code == 202
    monitor = await h.finished(response.json()["id"])
    assert monitor["state"] == "Completed"
    (member,) = summary(monitor)["members"]
    assert member["action"] == "feasibilityCheck"
    assert member["result"]["feasible"] is True
    assert (await h.service(member["id"]))["state"] == "feasibilityChecked"


async def test_design_and_assign(h: Harness) -> None:
    created = await h.post(service("designed", "designed"))
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "designed"
    assert h.executed() == [(created.json()["id"], "design")]


async def test_reserve_resources(h: Harness) -> None:
    sid = (await h.post(service("to reserve", "designed"))).json()["id"]
    reserved = await h.patch(sid, {"state": "reserved"})
    assert reserved.status_code == 200, reserved.text
    assert reserved.json()["state"] == "reserved"
    assert h.executed() == [(sid, "design"), (sid, "reserve")]


async def test_create_an_inactive_service(h: Harness) -> None:
    created = await h.post(service("dormant", "inactive"))
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "inactive"
    assert h.executed() == [(created.json()["id"], "provision")]


async def test_activate_an_inactive_service(h: Harness) -> None:
    sid = (await h.post(service("dormant", "inactive"))).json()["id"]
    activated = await h.patch(sid, {"state": "active"})
    assert activated.status_code == 200, activated.text
    assert activated.json()["state"] == "active"
    assert h.executed()[-1] == (sid, "activate")


async def test_modify_an_existing_service(h: Harness) -> None:
    sid = (await h.post(service("line", "active", serviceCharacteristic=[{"name": "speed", "value": 10}]))).json()["id"]
    changed = await h.patch(sid, {"serviceCharacteristic": [{"name": "speed", "value": 100}]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["serviceCharacteristic"] == [{"name": "speed", "value": 100}]
    (call,) = [c for c in h.driver.executed() if c.action == "modify"]
    assert call.service["serviceCharacteristic"] == [{"name": "speed", "value": 100}]
    # Inventory-only attributes need no network: no driver call, a Monitor completed at once.
    calls = len(h.driver.calls)
    renamed = await h.patch(sid, {"description": "the customer's line"}, asynchronous=True)
    assert renamed.status_code == 202
    assert renamed.json()["state"] == "Completed"
    assert len(h.driver.calls) == calls
    assert (await h.service(sid))["description"] == "the customer's line"


async def test_suspend_and_restore(h: Harness) -> None:
    sid = (await h.post(service("line", "active"))).json()["id"]
    suspended = await h.patch(sid, {"state": "inactive"})
    assert suspended.status_code == 200 and suspended.json()["state"] == "inactive"
    restored = await h.patch(sid, {"state": "active"})
    assert restored.status_code == 200 and restored.json()["state"] == "active"
    assert h.executed() == [(sid, "activate"), (sid, "deactivate"), (sid, "activate")]


async def test_remove_a_service(h: Harness) -> None:
    terminated_id = (await h.post(service("old", "active"))).json()["id"]
    terminated = await h.patch(terminated_id, {"state": "terminated"})
    assert terminated.status_code == 200 and terminated.json()["state"] == "terminated"
    removed_id = (await h.post(service("gone", "active"))).json()["id"]
    removed = await h.delete(removed_id)
    assert removed.status_code == 204
    assert (await h.client.get(f"{API}/service/{removed_id}")).status_code == 404
    assert (removed_id, "terminate") in h.executed() and (terminated_id, "terminate") in h.executed()
    types = [e["eventType"] for e in await h.events() if e["event"].get("service", {}).get("id") == removed_id]
    assert types[-1] == "ServiceDeleteEvent"


async def test_monitor_a_long_running_creation(h: Harness) -> None:
    gate = h.driver.hold(action="activate")
    accepted = await h.post(service("slow", "active"), asynchronous=True)
    assert accepted.status_code == 202
    monitor = accepted.json()
    assert accepted.headers["location"] == monitor["href"]
    assert monitor["state"] == "InProgress"
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    sid = summary(monitor)["service"]["id"]
    during = await h.service(sid)
    assert "state" not in during  # as-is: nothing exists in the network yet
    (under_way,) = during["x-activation"]
    assert under_way["targetState"] == "active" and under_way["monitor"]["id"] == monitor["id"]
    assert under_way["status"] == "running"
    listed = (await h.client.get(f"{API}/monitor", params={"state": "In Progress"})).json()
    assert [m["id"] for m in listed] == [monitor["id"]]
    gate.release()
    done = await h.finished(monitor["id"])
    assert done["state"] == "Completed" and members(done)[sid]["status"] == "completed"
    after = await h.service(sid)
    assert after["state"] == "active" and "x-activation" not in after


async def test_modify_an_inflight_creation(h: Harness) -> None:
    """A PATCH while the activation runs is accepted, queued, and its effect is there when the work ends."""
    gate = h.driver.hold(action="activate")
    accepted = await h.post(service("line", "active", serviceCharacteristic=[{"name": "speed", "value": 10}]),
                            asynchronous=True)
    sid = summary(accepted.json())["service"]["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    patched = await h.patch(sid, {"serviceCharacteristic": [{"name": "speed", "value": 50}]}, asynchronous=True)
    assert patched.status_code == 202, patched.text
    during = await h.service(sid)
    assert [u["changedAttributes"] for u in during["x-activation"]] == [[], ["serviceCharacteristic"]]
    gate.release()
    assert (await h.finished(accepted.json()["id"]))["state"] == "Completed"
    assert (await h.finished(patched.json()["id"]))["state"] == "Completed"
    after = await h.service(sid)
    assert after["state"] == "active"
    assert after["serviceCharacteristic"] == [{"name": "speed", "value": 50}]
    assert h.executed() == [(sid, "activate"), (sid, "modify")]


async def test_amend_an_inflight_creation_before_its_step_starts(h: Harness) -> None:
    """A member waiting for its dependency has not started: a PATCH amends what its step will send."""
    gate = h.driver.hold(service_id="first")
    body = service("pair", "active", isBundle=True, supportingService=[
        {"id": "first", **service("first")},
        {"id": "second", **service("second", serviceCharacteristic=[{"name": "vlan", "value": 1}]),
         "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": "first"}}]},
    ])
    accepted = await h.post(body, asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    amended = await h.patch("second", {"serviceCharacteristic": [{"name": "vlan", "value": 2}]}, asynchronous=True)
    assert amended.status_code == 202
    gate.release()
    assert (await h.finished(amended.json()["id"]))["state"] == "Completed"
    assert (await h.finished(accepted.json()["id"]))["state"] == "Completed"
    (second,) = [c for c in h.driver.executed() if c.service_id == "second"]
    assert second.action == "activate"
    assert second.service["serviceCharacteristic"] == [{"name": "vlan", "value": 2}]  # amended, not modified
    assert (await h.service("second"))["serviceCharacteristic"] == [{"name": "vlan", "value": 2}]


async def test_cancel_an_inflight_creation(h: Harness) -> None:
    """DELETE mid-way: what succeeded is compensated in reverse order, nothing stays half-activated."""
    gate = h.driver.hold(service_id="c")
    chain = service("chain", "active", isBundle=True, supportingService=[
        {"id": "a", **service("a")},
        {"id": "b", **service("b"), "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": "a"}}]},
        {"id": "c", **service("c"), "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": "b"}}]},
    ])
    accepted = await h.post({"id": "chain", **chain}, asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    cancel = await h.delete("chain", asynchronous=True)
    assert cancel.status_code == 202
    gate.release()
    created = await h.finished(accepted.json()["id"])
    assert created["state"] == "InError" and summary(created)["outcome"] == "cancelled"
    assert created["response"]["statusCode"] == "409"
    assert (await h.finished(cancel.json()["id"]))["state"] == "Completed"
    assert h.executed() == [("a", "activate"), ("b", "activate"), ("c", "activate")]
    assert h.compensated() == [("c", "activate"), ("b", "activate"), ("a", "activate")]
    assert (await h.client.get(f"{API}/service/chain")).status_code == 404
    for sid in ("a", "b", "c"):
        # Never left half-activated: the members never reached the network, so they are terminated on paper
        # with the bundle's removal, and no driver was asked to terminate them.
        assert (await h.service(sid)).get("state") == "terminated"
    assert not [c for c in h.executed() if c[1] == "terminate"]
    statuses = {sid: m["status"] for sid, m in members(created).items()}
    assert statuses == {"a": "compensated", "b": "compensated", "c": "compensated", "chain": "cancelled"}


async def test_going_back_cancels_and_compensates(h: Harness) -> None:
    """Restoring a suspended service, then asking for inactive again while it runs: the restore is undone."""
    sid = (await h.post(service("line", "inactive"))).json()["id"]
    gate = h.driver.hold(service_id=sid, action="activate")
    restore = await h.patch(sid, {"state": "active"}, asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    back = await h.patch(sid, {"state": "inactive"}, asynchronous=True)
    assert back.status_code == 202
    gate.release()
    assert summary(await h.finished(restore.json()["id"]))["outcome"] == "cancelled"
    assert (await h.finished(back.json()["id"]))["state"] == "Completed"
    assert (await h.service(sid))["state"] == "inactive"
    assert h.compensated() == [(sid, "activate")]
