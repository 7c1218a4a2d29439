"""Crash safety and concurrency: leases, resumption with the same step ids, several servers, no lost update."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from resolvers.context import RequestContext
from tests.engine_support import WAIT, Harness, MakeHarness, h, harness_factory, service

__all__ = ["h", "harness_factory"]

FAST = {"activation_lease_seconds": 2.0, "runner_poll_seconds": 0.05}


def chain(root: str, size: int) -> dict[str, Any]:
    members = []
    for i in range(size):
        rel = [{"relationshipType": "dependsOn", "service": {"id": f"{root}-{i - 1}"}}] if i else []
        members.append({"id": f"{root}-{i}", **service(f"{root}-{i}", serviceRelationship=rel)})
    return {"id": root, **service(root, isBundle=True, supportingService=members)}


def crash(h: Harness) -> None:
    """The server dies: its tasks stop where they are, nothing more is recorded, its leases stay taken."""
    runner = h.resolvers.engine.runner
    runner.keeper._stop.set()  # its lease keeper (a thread) dies with it: no more renewals
    for task in [*runner._tasks, *runner._running.values()]:
        task.cancel()


async def test_a_dead_server_s_work_is_resumed_with_the_same_step_ids(harness_factory: MakeHarness) -> None:
    first = await harness_factory(**FAST)
    gate = first.driver.hold(service_id="r-1")
    accepted = await first.post(chain("r", 3), asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    crash(first)
    second = await harness_factory(**FAST)  # the restarted server: it resumes once the dead lease expires
    monitor = await second.finished(accepted.json()["id"])
    assert monitor["state"] == "Completed"
    (held,) = [c for c in first.driver.calls if c.service_id == "r-1"]
    (resent,) = [c for c in second.driver.calls if c.service_id == "r-1"]
    assert resent.step_id == held.step_id  # in doubt: sent again, under the same id
    assert [c.service_id for c in first.driver.calls] == ["r-0", "r-1"]
    assert [c.service_id for c in second.driver.calls] == ["r-1", "r-2", "r"]  # r-0 was recorded: not again
    for sid in ("r", "r-0", "r-1", "r-2"):
        assert (await second.service(sid))["state"] == "active"


async def test_a_dead_server_s_compensation_is_finished_by_the_next(harness_factory: MakeHarness) -> None:
    first = await harness_factory(**FAST)
    gate = first.driver.hold(service_id="k-0", phase="compensate")
    body = chain("k", 3)
    body["supportingService"][2]["serviceCharacteristic"] = [{"name": "simulateFailure", "value": "activate"}]
    accepted = await first.post(body, asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)  # k-1 undone, k-0 being undone when the server dies
    crash(first)
    second = await harness_factory(**FAST)
    monitor = await second.finished(accepted.json()["id"])
    assert monitor["state"] == "InError"
    assert [(c.service_id, c.phase) for c in first.driver.calls] == [
        ("k-0", "execute"), ("k-1", "execute"), ("k-2", "execute"), ("k-1", "compensate"), ("k-0", "compensate")]
    assert [(c.service_id, c.phase, c.step_id) for c in second.driver.calls] == [
        ("k-0", "compensate", first.driver.calls[-1].step_id)]
    for sid in ("k", "k-0", "k-1", "k-2"):
        assert "state" not in await second.service(sid)


async def test_two_servers_share_the_work_and_no_step_runs_twice(harness_factory: MakeHarness) -> None:
    shared = {"activation_lease_seconds": 10, "runner_poll_seconds": 0.05}
    one = await harness_factory(**shared)
    two = await harness_factory(**shared)
    accepted = [(await (one if i % 2 else two).post(chain(f"b{i}", 4), asynchronous=True)).json()["id"]
                for i in range(6)]
    for monitor_id in accepted:
        # Each server is woken by its own finishes; the other one's show up in the store: wait on both.
        done = await asyncio.wait_for(_either(one, two, monitor_id), WAIT)
        assert done["state"] == "Completed"
    calls = Counter(c.step_id for c in [*one.driver.calls, *two.driver.calls])
    assert len(calls) == 6 * 5 and set(calls.values()) == {1}
    by_service = Counter(c.service_id for c in [*one.driver.calls, *two.driver.calls])
    assert set(by_service.values()) == {1}


async def _either(one: Harness, two: Harness, monitor_id: str) -> dict[str, Any]:
    while True:  # bounded by the caller's wait_for; each round waits on a notification, not a sleep
        for server in (one, two):
            monitor = await server.resolvers.engine.wait(_ctx(), monitor_id, 0.2)
            if monitor and monitor["state"] in ("Completed", "InError"):
                return monitor


def _ctx() -> RequestContext:
    return RequestContext(base_url="http://testserver")


async def test_concurrent_writes_to_one_service_lose_no_update(h: Harness) -> None:
    sid = (await h.post(service("busy", serviceCharacteristic=[{"name": "n", "value": 0}]))).json()["id"]
    edits: list[dict[str, Any]] = [
        {"description": "d"}, {"category": "c"}, {"serviceType": "t"}, {"name": "renamed"},
        {"serviceCharacteristic": [{"name": "n", "value": 1}]}, {"relatedParty": [{"id": "p1", "role": "owner"}]},
        {"note": [{"text": "hello"}]}, {"startMode": "1"},
    ]
    responses = await asyncio.gather(*(h.patch(sid, e) for e in edits))
    assert [r.status_code for r in responses] == [200] * len(edits), [r.text for r in responses]
    final = await h.service(sid)
    for edit in edits:
        for key, value in edit.items():
            assert final[key] == value, key
    assert final["state"] == "active"
