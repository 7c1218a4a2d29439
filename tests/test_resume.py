"""Resuming from the facts: a runner that picks an activation up continues from what its rows say.

Issue #8's case: member `a` fails, `b` is slow, `c` depends on `b`; the server dies while `b` runs. The next
runner must not start `c`, must undo `b` (atomic), and the Monitor must report each member as it ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

from store.uow import ALL_TENANTS
from tests.engine_support import WAIT, Harness, MakeHarness, fail, harness_factory, members, service

__all__ = ["harness_factory"]

FAST = {"activation_lease_seconds": 1.0, "runner_poll_seconds": 0.05}


def crash(h: Harness) -> None:
    """The server dies: its tasks stop where they are, nothing more is recorded, its leases stay taken."""
    runner = h.resolvers.engine.runner
    runner.keeper._stop.set()  # its lease keeper (a thread) dies with it: no more renewals
    for task in [*runner._tasks, *runner._running.values()]:
        task.cancel()


def abc(root: str) -> dict[str, Any]:
    a = {"id": f"{root}-a", **service(f"{root}-a", serviceCharacteristic=fail("activate"))}
    b = {"id": f"{root}-b", **service(f"{root}-b")}
    c = {"id": f"{root}-c", **service(
        f"{root}-c", serviceRelationship=[{"relationshipType": "dependsOn", "service": {"id": f"{root}-b"}}])}
    return {"id": root, **service(root, isBundle=True, supportingService=[a, b, c])}


async def _step_status(h: Harness, service_id: str, wanted: str) -> None:
    """Bounded: until the step of `service_id` is recorded with status `wanted` (a row, not a hope)."""
    async with asyncio.timeout(WAIT):
        while True:
            async with h.resolvers.store.read(ALL_TENANTS) as uow:
                rows = await uow.activations.unfinished_for([service_id])
            if any(step.status == wanted for _, step in rows):
                return
            await asyncio.sleep(0.02)


async def test_a_failure_recorded_before_the_crash_is_honoured_after_it(harness_factory: MakeHarness) -> None:
    first = await harness_factory(**FAST)
    gate = first.driver.hold(service_id="x-b")
    accepted = await first.post(abc("x"), asynchronous=True)
    assert accepted.status_code == 202, accepted.text
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    await _step_status(first, "x-a", "failed")  # a's failure is a fact in the rows before the server dies
    crash(first)
    second = await harness_factory(**FAST)
    monitor = await second.finished(accepted.json()["id"])
    assert monitor["state"] == "InError"
    assert [c.service_id for c in second.driver.calls if c.phase == "execute"] == []  # c never reaches it
    assert all(c.service_id != "x-c" for c in [*first.driver.calls, *second.driver.calls])
    assert [(c.service_id, c.phase) for c in second.driver.calls] == [("x-b", "compensate")]
    status = {sid: m["status"] for sid, m in members(monitor).items()}
    assert status == {"x-a": "failed", "x-b": "compensated", "x-c": "cancelled", "x": "cancelled"}
    for sid in ("x", "x-a", "x-b", "x-c"):
        assert "state" not in await second.service(sid)


async def test_a_resumed_partial_activation_ends_as_its_monitor_says(harness_factory: MakeHarness) -> None:
    first = await harness_factory(**FAST)
    gate = first.driver.hold(service_id="p-b")
    accepted = await first.post(abc("p"), asynchronous=True, headers={"X-Activation-Policy": "partial"})
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    await _step_status(first, "p-a", "failed")
    crash(first)
    second = await harness_factory(**FAST)
    monitor = await second.finished(accepted.json()["id"])
    assert monitor["state"] == "InError"
    listed = members(monitor)
    assert {sid: m["status"] for sid, m in listed.items()} == {
        "p-a": "failed", "p-b": "completed", "p-c": "completed", "p": "cancelled"}
    for sid, m in listed.items():
        assert (await second.service(sid)).get("state") == m["state"], sid
    assert (await second.service("p-b"))["state"] == "active"
