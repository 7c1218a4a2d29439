"""Bundles: 1 + 3 + 9 services with dependencies, driven in dependency order; atomic and partial failure."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.engine_support import API, WAIT, Harness, MakeHarness, fail, h, harness_factory, members, service, summary

__all__ = ["h", "harness_factory"]

BRANCHES = {"A": ["A1", "A2", "A3"], "B": ["B1", "B2", "B3"], "C": ["C1", "C2", "C3"]}
# (dependent, relationshipType, dependency); the vocabulary is case-insensitive and has reverse forms.
RELATIONSHIPS = [
    ("A2", "dependsOn", "A1"),
    ("A3", "ReliesOn", "A2"),
    ("B1", "DependentOn", "A3"),  # across branches
    ("C1", "requires", "B2"),
    ("C3", "requiredBy", "C2"),  # reverse form: C2 depends on C3
    ("A1", "bundles", "B3"),  # unknown type: kept, orders nothing
    ("B3", "dependsOn", "elsewhere-42"),  # a service not held here: not driven, orders nothing
]


def must_precede() -> set[tuple[str, str]]:
    """(first, then) pairs the driver's calls must honour when activating."""
    pairs = {("A1", "A2"), ("A2", "A3"), ("A3", "B1"), ("B2", "C1"), ("C3", "C2")}
    for bundle, leaves in BRANCHES.items():
        pairs |= {(leaf, bundle) for leaf in leaves}
        pairs.add((bundle, "R"))
    return pairs


def bundle(failing: str | None = None) -> dict[str, Any]:
    rels: dict[str, list[dict[str, Any]]] = {}
    for src, rtype, dst in RELATIONSHIPS:
        rels.setdefault(src, []).append({"relationshipType": rtype, "service": {"id": dst}})

    def leaf(sid: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if sid in rels:
            extra["serviceRelationship"] = rels[sid]
        if sid == failing:
            extra["serviceCharacteristic"] = fail("activate")
        return {"id": sid, **service(sid, **extra)}

    subs = [{"id": b, **service(b, isBundle=True, supportingService=[leaf(x) for x in xs])}
            for b, xs in BRANCHES.items()]
    return {"id": "R", **service("R", isBundle=True, supportingService=subs)}


ALL = ["R", *BRANCHES, *(x for xs in BRANCHES.values() for x in xs)]


def dependents_of(sid: str) -> set[str]:
    out, todo = set(), [sid]
    while todo:
        n = todo.pop()
        for first, then in must_precede():
            if first == n and then not in out:
                out.add(then)
                todo.append(then)
    return out


async def test_bundle_is_activated_in_dependency_order(harness_factory: MakeHarness) -> None:
    h = await harness_factory(activation_concurrency=3)
    gates = [h.driver.hold(service_id="A1"), h.driver.hold(service_id="B2")]
    accepted = await h.post(bundle(), asynchronous=True)
    assert accepted.status_code == 202, accepted.text
    # Independent branches run at once: both held leaves are in the driver at the same time.
    await asyncio.wait_for(asyncio.gather(*(g.entered.wait() for g in gates)), WAIT)
    for g in gates:
        g.release()
    monitor = await h.finished(accepted.json()["id"])
    assert monitor["state"] == "Completed", monitor
    order = [sid for sid, action in h.executed()]
    assert sorted(order) == sorted(ALL)  # every held service once; `elsewhere-42` never
    for first, then in must_precede():
        assert order.index(first) < order.index(then), f"{first} must be activated before {then}: {order}"
    assert h.driver.max_in_flight <= 3
    assert {m["status"] for m in members(monitor).values()} == {"completed"}
    for sid in ALL:
        assert (await h.service(sid))["state"] == "active"


async def test_bundle_termination_walks_the_graph_backwards(h: Harness) -> None:
    assert (await h.post(bundle())).status_code == 201
    removed = await h.patch("R", {"state": "terminated"})
    assert removed.status_code == 200, removed.text
    order = [sid for sid, action in h.executed() if action == "terminate"]
    assert sorted(order) == sorted(ALL)
    for first, then in must_precede():
        assert order.index(then) < order.index(first), f"{then} must be terminated before {first}: {order}"


async def test_atomic_failure_compensates_every_success_in_reverse(harness_factory: MakeHarness) -> None:
    h = await harness_factory(activation_concurrency=1)  # one at a time: the order of success is the call order
    failed = await h.post(bundle(failing="C1"))
    assert failed.status_code == 502, failed.text
    assert failed.json()["code"] == "ActivationFailed" and "C1" in failed.json()["message"]
    monitor = (await h.client.get(failed.headers["location"])).json()
    assert monitor["state"] == "InError" and monitor["response"]["statusCode"] == "502"
    executed = [sid for sid, _ in h.executed()]
    succeeded = executed[: executed.index("C1")]
    assert succeeded, "the failure should come after some successes"
    assert [sid for sid, _ in h.compensated()] == list(reversed(succeeded))
    statuses = {sid: m["status"] for sid, m in members(monitor).items()}
    assert statuses["C1"] == "failed"
    assert {statuses[s] for s in succeeded} == {"compensated"}
    assert {statuses[s] for s in set(ALL) - set(executed)} == {"cancelled"}
    for sid in ALL:
        assert "state" not in await h.service(sid), sid  # nothing stays activated
    assert summary(monitor)["policy"] == "atomic"


async def test_partial_policy_keeps_the_successes(h: Harness) -> None:
    failed = await h.post(bundle(failing="B2"), headers={"X-Activation-Policy": "partial"})
    assert failed.status_code == 502
    monitor = (await h.client.get(failed.headers["location"])).json()
    statuses = {sid: m["status"] for sid, m in members(monitor).items()}
    blocked = dependents_of("B2")
    assert blocked == {"B", "C1", "C", "R"}
    assert statuses["B2"] == "failed"
    assert {statuses[s] for s in blocked} == {"cancelled"}
    kept = set(ALL) - blocked - {"B2"}
    assert {statuses[s] for s in kept} == {"completed"}
    for sid in kept:
        assert (await h.service(sid))["state"] == "active"
    for sid in blocked | {"B2"}:
        assert "state" not in await h.service(sid)
    assert h.compensated() == []
    # Retrying the bundle after fixing the member drives only what is missing.
    fixed = await h.patch("B2", {"serviceCharacteristic": []})
    assert fixed.status_code == 200
    calls = len(h.executed())
    retried = await h.patch("R", {"state": "active"}, headers={"X-Activation-Policy": "partial"})
    assert retried.status_code == 200, retried.text
    assert sorted(sid for sid, _ in h.executed()[calls:]) == sorted(blocked | {"B2"})


async def test_policy_from_query_and_its_validation(h: Harness) -> None:
    response = await h.client.post(f"{API}/service", params={"activationPolicy": "partial"},
                                   json=service("x"), headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    assert summary(response.json())["policy"] == "partial"
    bad = await h.post(service("y"), headers={"X-Activation-Policy": "sometimes"})
    assert bad.status_code == 400 and "activationPolicy" in bad.json()["message"]


async def test_a_dependency_cycle_is_refused_before_any_work(h: Harness) -> None:
    body = service("loop", isBundle=True, supportingService=[
        {"id": "x", **service("x", serviceRelationship=[{"relationshipType": "dependsOn", "service": {"id": "y"}}])},
        {"id": "y", **service("y", serviceRelationship=[{"relationshipType": "reliesOn", "service": {"id": "z"}}])},
        {"id": "z", **service("z", serviceRelationship=[{"relationshipType": "DEPENDS_ON", "service": {"id": "x"}}])},
    ])
    refused = await h.post(body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "DependencyCycle"
    assert "x -> " in refused.json()["message"] or "y -> " in refused.json()["message"]
    assert (await h.client.get(f"{API}/service")).json() == []
    assert (await h.client.get(f"{API}/monitor")).json() == []
    assert h.driver.calls == []
    assert await h.events() == []
