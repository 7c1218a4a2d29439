"""Every use case of the TMF640 user guide, through GraphQL (the REST counterparts: tests/test_use_cases.py).

Mutations return at once with the Monitor of their work; each test waits for it (bounded, woken by the
engine) before reading what the work left. The simulated driver is the network.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.engine_support import WAIT, Harness, h, harness_factory, service
from tests.graphql import ok

__all__ = ["h", "harness_factory"]

FIELDS = "id state outcome members { serviceId action status state error result }"
MONITOR = f"monitor {{ {FIELDS} }}"
PAYLOAD = (f"__typename ... on Error {{ message code }} "
           f"... on ServicePayload {{ service {{ id state document }} {MONITOR} }}")
CREATE = f"mutation($s: JSON!) {{ createService(input: $s) {{ {PAYLOAD} }} }}"
PATCH = f"mutation($id: ID!, $p: JSON!) {{ patchService(id: $id, mergePatch: $p) {{ {PAYLOAD} }} }}"
DELETE = f"""mutation($id: ID!) {{ deleteService(id: $id) {{
  __typename ... on Error {{ message }} ... on DeleteServicePayload {{ deletedId {MONITOR} }} }} }}"""
READ = "query($id: ID!) { service(id: $id) { id state document } }"
WORK = f"query($id: ID!) {{ monitor(id: $id) {{ {FIELDS} }} }}"


async def write(h: Harness, query: str, **variables: Any) -> dict[str, Any]:
    (result,) = (await ok(h.client, query, variables)).values()
    assert result["__typename"] in ("ServicePayload", "DeleteServicePayload"), result
    return dict(result)


def verb(name: str) -> str:
    return f'mutation($id: ID!) {{ {name}Service(id: $id) {{ {PAYLOAD} }} }}'


async def done(h: Harness, result: dict[str, Any]) -> dict[str, Any]:
    """The monitor of a mutation's work once final, as the GraphQL `monitor` query shows it."""
    await h.finished(result["monitor"]["id"])
    monitor: dict[str, Any] = (await ok(h.client, WORK, {"id": result["monitor"]["id"]}))["monitor"]
    return monitor


async def read(h: Harness, id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await ok(h.client, READ, {"id": id}))["service"]
    return found


async def created(h: Harness, body: dict[str, Any]) -> str:
    """Create and wait for the work to complete; the new service's id."""
    result = await write(h, CREATE, s=body)
    assert (await done(h, result))["state"] == "Completed"
    return str(result["service"]["id"])


async def test_create_new_service_to_active(h: Harness) -> None:
    result = await write(h, CREATE, s=service("line", "active"))
    sid = result["service"]["id"]
    assert result["service"]["state"] is None  # returned at once: nothing in the network yet
    assert result["service"]["document"]["x-activation"][0]["targetState"] == "active"
    assert result["monitor"]["state"] == "InProgress"
    monitor = await done(h, result)
    assert (monitor["state"], monitor["outcome"]) == ("Completed", "completed")
    assert [(m["serviceId"], m["action"], m["status"]) for m in monitor["members"]] == [(sid, "activate", "completed")]
    after = await read(h, sid)
    assert after is not None and after["state"] == "active" and "x-activation" not in after["document"]
    assert h.executed() == [(sid, "activate")]


async def test_check_feasibility(h: Harness) -> None:
    result = await write(h, CREATE, s=service("feasible?", "feasibilityChecked"))
    (member,) = (await done(h, result))["members"]
    assert member["action"] == "feasibilityCheck" and member["result"]["feasible"] is True
    assert (await read(h, member["serviceId"]) or {})["state"] == "feasibilityChecked"


async def test_design_and_assign(h: Harness) -> None:
    sid = await created(h, service("designed", "designed"))
    assert (await read(h, sid) or {})["state"] == "designed"
    assert h.executed() == [(sid, "design")]


async def test_reserve_resources(h: Harness) -> None:
    sid = await created(h, service("to reserve", "designed"))
    reserved = await write(h, PATCH, id=sid, p={"state": "reserved"})
    assert reserved["service"]["state"] == "designed"  # the state moves when the driver succeeds
    assert (await done(h, reserved))["state"] == "Completed"
    assert (await read(h, sid) or {})["state"] == "reserved"
    assert h.executed() == [(sid, "design"), (sid, "reserve")]


async def test_create_an_inactive_service(h: Harness) -> None:
    sid = await created(h, service("dormant", "inactive"))
    assert (await read(h, sid) or {})["state"] == "inactive"
    assert h.executed() == [(sid, "provision")]


async def test_activate_an_inactive_service(h: Harness) -> None:
    sid = await created(h, service("dormant", "inactive"))
    activated = await write(h, verb("activate"), id=sid)
    assert activated["service"]["state"] == "inactive" and activated["monitor"]["state"] == "InProgress"
    assert (await done(h, activated))["state"] == "Completed"
    assert (await read(h, sid) or {})["state"] == "active"
    assert h.executed()[-1] == (sid, "activate")


async def test_modify_an_existing_service(h: Harness) -> None:
    sid = await created(h, service("line", "active", serviceCharacteristic=[{"name": "speed", "value": 10}]))
    changed = await write(h, PATCH, id=sid, p={"serviceCharacteristic": [{"name": "speed", "value": 100}]})
    assert (await done(h, changed))["members"][0]["action"] == "modify"
    assert (await read(h, sid) or {})["document"]["serviceCharacteristic"] == [{"name": "speed", "value": 100}]
    (call,) = [c for c in h.driver.executed() if c.action == "modify"]
    assert call.service["serviceCharacteristic"] == [{"name": "speed", "value": 100}]
    # Inventory-only attributes need no network: no driver call, a Monitor completed at once.
    calls = len(h.driver.calls)
    renamed = await write(h, PATCH, id=sid, p={"description": "the customer's line"})
    assert renamed["monitor"]["state"] == "Completed"
    assert renamed["service"]["document"]["description"] == "the customer's line"
    assert len(h.driver.calls) == calls


async def test_suspend_and_restore(h: Harness) -> None:
    sid = await created(h, service("line", "active"))
    for name, state in (("suspend", "inactive"), ("resume", "active")):
        moved = await write(h, verb(name), id=sid)
        assert (await done(h, moved))["state"] == "Completed"
        assert (await read(h, sid) or {})["state"] == state
    assert h.executed() == [(sid, "activate"), (sid, "deactivate"), (sid, "activate")]


async def test_remove_a_service(h: Harness) -> None:
    terminated_id = await created(h, service("old", "active"))
    terminated = await write(h, verb("terminate"), id=terminated_id)
    assert (await done(h, terminated))["state"] == "Completed"
    assert (await read(h, terminated_id) or {})["state"] == "terminated"
    removed_id = await created(h, service("gone", "active"))
    removed = await write(h, DELETE, id=removed_id)
    assert removed["deletedId"] == removed_id and removed["monitor"]["state"] == "InProgress"
    assert (await done(h, removed))["state"] == "Completed"
    assert await read(h, removed_id) is None
    assert (removed_id, "terminate") in h.executed() and (terminated_id, "terminate") in h.executed()


async def test_monitor_a_long_running_creation(h: Harness) -> None:
    gate = h.driver.hold(action="activate")
    result = await write(h, CREATE, s=service("slow", "active"))
    sid, monitor_id = result["service"]["id"], result["monitor"]["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    during = await ok(h.client, """query($id: ID!, $m: ID!) {
        service(id: $id) { state document } monitor(id: $m) { state outcome }
        monitors(filter: {states: [InProgress]}) { nodes { id } } }""", {"id": sid, "m": monitor_id})
    assert during["service"]["state"] is None  # as-is: nothing exists in the network yet
    (under_way,) = during["service"]["document"]["x-activation"]
    assert under_way["status"] == "running" and under_way["monitor"]["id"] == monitor_id
    assert during["monitor"] == {"state": "InProgress", "outcome": "inProgress"}
    assert during["monitors"]["nodes"] == [{"id": monitor_id}]
    gate.release()
    final = await done(h, result)
    assert final["state"] == "Completed" and final["members"][0]["status"] == "completed"
    after = await read(h, sid)
    assert after is not None and after["state"] == "active" and "x-activation" not in after["document"]


async def test_modify_an_inflight_creation(h: Harness) -> None:
    """A patch while the activation runs is accepted, queued, and its effect is there when the work ends."""
    gate = h.driver.hold(action="activate")
    accepted = await write(h, CREATE, s=service("line", "active",
                                                 serviceCharacteristic=[{"name": "speed", "value": 10}]))
    sid = accepted["service"]["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    patched = await write(h, PATCH, id=sid, p={"serviceCharacteristic": [{"name": "speed", "value": 50}]})
    assert patched["monitor"]["state"] == "InProgress"
    during = (await read(h, sid) or {})["document"]
    assert [u["changedAttributes"] for u in during["x-activation"]] == [[], ["serviceCharacteristic"]]
    gate.release()
    assert (await done(h, accepted))["state"] == "Completed"
    assert (await done(h, patched))["state"] == "Completed"
    after = await read(h, sid) or {}
    assert after["state"] == "active"
    assert after["document"]["serviceCharacteristic"] == [{"name": "speed", "value": 50}]
    assert h.executed() == [(sid, "activate"), (sid, "modify")]


async def test_cancel_an_inflight_creation(h: Harness) -> None:
    """Delete mid-way: what succeeded is compensated in reverse order, nothing stays half-activated."""
    gate = h.driver.hold(service_id="c")
    chain = service("chain", "active", isBundle=True, supportingService=[
        {"id": "a", **service("a")},
        {"id": "b", **service("b"), "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": "a"}}]},
        {"id": "c", **service("c"), "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": "b"}}]},
    ])
    accepted = await write(h, CREATE, s={"id": "chain", **chain})
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    cancel = await write(h, DELETE, id="chain")
    assert cancel["monitor"]["state"] == "InProgress"
    gate.release()
    creation = await done(h, accepted)
    assert (creation["state"], creation["outcome"]) == ("InError", "cancelled")
    assert (await done(h, cancel))["state"] == "Completed"
    assert h.executed() == [("a", "activate"), ("b", "activate"), ("c", "activate")]
    assert h.compensated() == [("c", "activate"), ("b", "activate"), ("a", "activate")]
    assert await read(h, "chain") is None
    for sid in ("a", "b", "c"):
        assert (await read(h, sid) or {})["state"] == "terminated"  # on paper: they never reached the network
    assert not [c for c in h.executed() if c[1] == "terminate"]
    statuses = {m["serviceId"]: m["status"] for m in creation["members"]}
    assert statuses == {"a": "compensated", "b": "compensated", "c": "compensated", "chain": "cancelled"}
