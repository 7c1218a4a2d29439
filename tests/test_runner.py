"""Crash safety and concurrency: leases, resumption with the same step ids, several servers, no lost update."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from resolvers.context import RequestContext
from store.tables import activation
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


async def test_a_lease_taken_over_mid_bundle_stops_this_server_s_calls_and_the_work_resumes_once(
    harness_factory: MakeHarness,
) -> None:
    server = await harness_factory(**FAST)
    runner = server.resolvers.engine.runner
    gate = server.driver.hold(service_id="t-1")
    accepted = await server.post(chain("t", 3), asynchronous=True)
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    (execution,) = runner._running.values()
    # Another runner takes the lease over while t-1's call is out (as after a pause longer than the lease).
    await _lease_to(server, "t", "another-runner", minutes=10)
    gate.release()
    done, _ = await asyncio.wait({execution}, timeout=WAIT)  # this server's execution stops by itself
    assert done and runner.leases_lost == 1
    assert [c.service_id for c in server.driver.calls] == ["t-0", "t-1"]  # nothing more under a lost lease
    # The other runner dies: its lease runs out and this server resumes the work where it was recorded.
    await _lease_to(server, "t", "another-runner", minutes=-1)
    monitor = await server.finished(accepted.json()["id"])
    assert monitor["state"] == "Completed"
    sent = Counter((c.service_id, c.step_id) for c in server.driver.calls)
    assert [sid for sid, _ in sent] == ["t-0", "t-1", "t-2", "t"]
    assert sent[next(k for k in sent if k[0] == "t-1")] <= 2  # t-1 at most sent again (its answer was in doubt)
    assert all(n == 1 for (sid, _), n in sent.items() if sid != "t-1")


async def _lease_to(h: Harness, root: str, owner: str, *, minutes: int) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    async with h.resolvers.store.db.transaction() as conn:
        await conn.execute(update(activation).where(activation.c.root_id == root)
                           .values(lease_owner=owner, lease_expires=expires))
