"""Fallout and jeopardy: bounded retries park work as held; operators retry, abort or resolve it; slow work is
flagged in jeopardy. The `http` driver talks to a real local driver service (tests/driver_service.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from resolvers.activation.forward import Forward
from resolvers.context import RequestContext
from store.uow import ALL_TENANTS
from tests.driver_service import DriverService
from tests.engine_support import WAIT, Harness, MakeHarness, h, harness_factory, members, service, summary
from tests.graphql import ok

__all__ = ["h", "harness_factory"]

RETRY = {"activation_retry_attempts": 2, "activation_retry_backoff": 0.05, "activation_retry_seconds": 30,
         "activation_lease_seconds": 5, "runner_poll_seconds": 0.05}
OPERATOR = """
mutation($id: ID!, $reason: String!) {
  %s(monitorId: $id, reason: $reason, by: "alice") {
    __typename
    ... on OperatorActionPayload { monitor { id state held heldReason operatorActions { action by reason } } }
    ... on ConflictError { message }
  }
}"""


@pytest.fixture
def driver() -> Iterator[DriverService]:
    service_ = DriverService().start()
    yield service_
    service_.stop()


async def http_harness(make: MakeHarness, driver: DriverService, **extra: Any) -> Harness:
    config = {"http": {"url": driver.url, "retries": 0, "timeoutSeconds": 5}}
    return await make(drivers={"*": "http"}, driver_config=config, **RETRY, **extra)


async def until(h: Harness, monitor_id: str, check: Any, what: str) -> dict[str, Any]:
    """Wait (woken by the engine's notifications, bounded) until `check(monitor)` holds."""
    ctx = RequestContext(base_url="http://testserver")
    async with asyncio.timeout(WAIT):
        while True:
            monitor = await h.resolvers.engine.wait(ctx, monitor_id, 0.5)
            assert monitor is not None
            if check(monitor):
                return monitor
            if monitor["state"] != "InProgress" and not check(monitor):
                raise AssertionError(f"{what}: the monitor finished as {monitor['state']} instead")
    raise AssertionError(what)


def pair(root: str) -> dict[str, Any]:
    a = {"id": f"{root}-a", **service(f"{root}-a")}
    b = {"id": f"{root}-b", **service(f"{root}-b", serviceRelationship=[
        {"relationshipType": "dependsOn", "service": {"id": f"{root}-a"}}])}
    return {"id": root, **service(root, isBundle=True, supportingService=[a, b])}


async def events_of(h: Harness, monitor_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in await h.events() if e["eventType"] == kind and e["event"]["monitor"]["id"] == monitor_id]


async def test_a_driver_that_stays_down_parks_the_work_then_retry_completes_it(
    harness_factory: MakeHarness, driver: DriverService
) -> None:
    h = await http_harness(harness_factory, driver)
    driver.down = True
    accepted = await h.post({"id": "down", **service("down")}, asynchronous=True)
    mid = accepted.json()["id"]
    held = await until(h, mid, lambda m: m.get("held") is True, "held")
    assert held["state"] == "InProgress" and "driver unreachable" in held["heldReason"]
    assert len([c for c in driver.calls if c.phase == "execute"]) == 3  # the first call and 2 bounded retries
    changes = await events_of(h, mid, "MonitorAttributeValueChangeEvent")
    assert any("held" in (e["event"]["monitor"] or {}) and e["event"]["monitor"]["held"] for e in changes)
    listed = await h.client.get("/tmf-api/serviceActivationAndConfiguration/v4/monitor", params={"held": "true"})
    assert [m["id"] for m in listed.json()] == [mid]
    data = await ok(h.client, "{ monitors(filter: {held: true}) { nodes { id held heldReason } } }")
    assert [n["id"] for n in data["monitors"]["nodes"]] == [mid]
    await asyncio.sleep(0)  # nothing more is sent while held: the runner never claims it
    assert len([c for c in driver.calls if c.phase == "execute"]) == 3

    driver.down = False
    data = await ok(h.client, OPERATOR % "retryActivation", {"id": mid, "reason": "driver is back"})
    payload = data["retryActivation"]
    assert payload["__typename"] == "OperatorActionPayload"
    assert payload["monitor"]["held"] is False
    assert payload["monitor"]["operatorActions"] == [{"action": "retry", "by": "alice", "reason": "driver is back"}]
    done = await h.finished(mid)
    assert done["state"] == "Completed" and done["operatorActions"][0]["by"] == "alice"
    assert (await h.service("down"))["state"] == "active"
    sent = {c.step_id for c in driver.calls if c.phase == "execute"}
    assert len(sent) == 1  # retried under the same step id


async def test_an_unexpected_error_in_the_runner_is_retried_then_held(
    harness_factory: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a driver's failure (that is a step's outcome) but the engine's own: backed off and retried within the
    retry policy, then held for an operator with the error named; the operator's retry completes it."""
    original = Forward.run
    raised: list[str] = []

    async def broken(self: Forward) -> bool:
        raised.append(self.id)
        raise RuntimeError("injected fault")

    monkeypatch.setattr(Forward, "run", broken)
    h = await harness_factory(**RETRY)
    mid = (await h.post({"id": "oops", **service("oops")}, asynchronous=True)).json()["id"]
    held = await until(h, mid, lambda m: m.get("held") is True, "held")
    assert "unexpected error, 3 times in a row: RuntimeError: injected fault" in held["heldReason"]
    assert len(raised) == 3  # the first run and RETRY's 2 retries, then no more while held
    assert h.resolvers.engine.runner.activations_retried == 2

    monkeypatch.setattr(Forward, "run", original)
    data = await ok(h.client, OPERATOR % "retryActivation", {"id": mid, "reason": "fault fixed"})
    assert data["retryActivation"]["monitor"]["held"] is False
    assert (await h.finished(mid))["state"] == "Completed"
    assert (await h.service("oops"))["state"] == "active"


async def test_abort_compensates_what_succeeded(harness_factory: MakeHarness, driver: DriverService) -> None:
    h = await http_harness(harness_factory, driver)
    body = pair("ab")
    body["supportingService"][1]["serviceCharacteristic"] = [{"name": "driverFail", "value": "transient:99"}]
    mid = (await h.post(body, asynchronous=True)).json()["id"]
    await until(h, mid, lambda m: m.get("held") is True, "held")
    conflict = await ok(h.client, OPERATOR % "retryActivation", {"id": "no-such", "reason": "x"})
    assert conflict["retryActivation"]["__typename"] == "NotFoundError"
    data = await ok(h.client, OPERATOR % "abortActivation", {"id": mid, "reason": "customer gave up"})
    assert data["abortActivation"]["__typename"] == "OperatorActionPayload"
    done = await h.finished(mid)
    assert done["state"] == "InError"
    status = {sid: m["status"] for sid, m in members(done).items()}
    assert status == {"ab-a": "compensated", "ab-b": "compensated", "ab": "cancelled"}
    assert [c.service_id for c in driver.ok("compensate")] == ["ab-b", "ab-a"]  # reverse dependency order
    for sid in ("ab", "ab-a", "ab-b"):
        assert "state" not in await h.service(sid)
    again = await ok(h.client, OPERATOR % "abortActivation", {"id": mid, "reason": "twice"})
    assert again["abortActivation"]["__typename"] == "ConflictError"


async def test_a_compensation_that_cannot_complete_is_held_then_resolved_by_hand(
    harness_factory: MakeHarness, driver: DriverService
) -> None:
    h = await http_harness(harness_factory, driver)
    body = pair("cf")
    body["supportingService"][0]["serviceCharacteristic"] = [{"name": "driverFail", "value": "compensate"}]
    body["supportingService"][1]["serviceCharacteristic"] = [{"name": "driverFail", "value": "permanent"}]
    mid = (await h.post(body, asynchronous=True)).json()["id"]
    held = await until(h, mid, lambda m: m.get("held") is True, "held")
    assert "compensation cannot complete" in held["heldReason"]
    assert members(held)["cf-a"]["status"] == "compensationFailed"
    query = """mutation($id: ID!) { resolveActivation(monitorId: $id, state: "InError", reason: "undone by hand")
               { __typename ... on OperatorActionPayload { monitor { state held operatorActions { action } } } } }"""
    data = await ok(h.client, query, {"id": mid})
    assert data["resolveActivation"]["monitor"] == {
        "state": "InError", "held": False, "operatorActions": [{"action": "resolve"}]}
    final = await h.monitor(mid)
    assert summary(final)["outcome"] == "resolved"
    assert members(final)["cf-a"]["status"] == "resolvedByHand"


async def test_jeopardy_flags_a_slow_activation(harness_factory: MakeHarness) -> None:
    h = await harness_factory(activation_expected_seconds=0.2, runner_poll_seconds=0.05)
    gate = h.driver.hold(service_id="slow")
    mid = (await h.post({"id": "slow", **service("slow")}, asynchronous=True)).json()["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    flagged = await until(h, mid, lambda m: m.get("jeopardy") is True, "jeopardy")
    assert flagged["state"] == "InProgress" and flagged["jeopardyAt"]
    changes = await events_of(h, mid, "MonitorAttributeValueChangeEvent")
    jeopardy = [e for e in changes if e["event"]["monitor"].get("jeopardy")]
    assert jeopardy and "jeopardy" in json.dumps(jeopardy[0].get("fieldPath"))
    data = await ok(h.client, "{ monitors(filter: {jeopardy: true}) { nodes { id jeopardy } } }")
    assert data["monitors"]["nodes"] == [{"id": mid, "jeopardy": True}]
    assert h.resolvers.engine.runner.stats()["jeopardy_flagged"] == 1
    gate.release()
    assert (await h.finished(mid))["state"] == "Completed"


async def test_an_amend_names_its_monitor_and_its_revision_its_request(h: Harness) -> None:
    gate = h.driver.hold(service_id="am-m")
    body = {"id": "am", **service("am", isBundle=True, supportingService=[{"id": "am-m", **service("am-m")}])}
    first = (await h.post(body, asynchronous=True, headers={"X-Correlation-ID": "post-1"})).json()["id"]
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    patched = await h.patch("am", {"description": "amended"}, asynchronous=True,
                            headers={"X-Correlation-ID": "patch-1"})
    assert patched.status_code == 202, patched.text
    second = patched.json()["id"]
    gate.release()
    one, two = await h.finished(first), await h.finished(second)
    assert summary(one)["amendedBy"] == [second] and summary(one)["operation"] == "create"
    assert summary(two)["operation"] == "patch" and "amendedBy" not in summary(two)
    data = await ok(h.client, "query($id: ID!) { monitor(id: $id) { amendedBy } }", {"id": first})
    assert data["monitor"]["amendedBy"] == [second]
    async with h.resolvers.store.read(ALL_TENANTS) as uow:
        revisions = await uow.services.revisions(["am"])
    amended = [r for r in revisions if any(c.get("path") == "/description" for c in r.changes)]
    assert [r.correlation_id for r in amended] == ["patch-1"]
    corr = {e["correlationId"] for e in await events_of(h, second, "MonitorStateChangeEvent")}
    assert corr == {"patch-1"}


async def test_the_cli_lists_held_work_and_retries_it(
    harness_factory: MakeHarness, driver: DriverService, database_url: str
) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    h = await http_harness(harness_factory, driver)
    driver.down = True
    mid = (await h.post({"id": "cli", **service("cli")}, asynchronous=True)).json()["id"]
    await until(h, mid, lambda m: m.get("held") is True, "held")
    runner = CliRunner()
    listed = await asyncio.to_thread(runner.invoke, cli, ["held", "--database-url", database_url])
    assert listed.exit_code == 0 and mid in listed.output and "driver unreachable" in listed.output
    refused = await asyncio.to_thread(runner.invoke, cli, ["resolve", mid, "--reason", "x", "--state", "Maybe",
                                                           "--database-url", database_url])
    assert refused.exit_code == 1 and "Completed or InError" in refused.output
    driver.down = False
    retried = await asyncio.to_thread(runner.invoke, cli, [
        "retry", mid, "--reason", "link repaired", "--by", "bob", "--database-url", database_url])
    assert retried.exit_code == 0, retried.output
    h.resolvers.engine.runner.kick()  # another process released it: this server finds it at its next scan
    done = await h.finished(mid)
    assert done["state"] == "Completed"
    assert [(a["action"], a["by"], a["reason"]) for a in done["operatorActions"]] == [
        ("retry", "bob", "link repaired")]


async def test_a_client_cancel_releases_held_work_to_be_undone(
    harness_factory: MakeHarness, driver: DriverService
) -> None:
    h = await http_harness(harness_factory, driver)
    body = pair("cc")
    body["supportingService"][1]["serviceCharacteristic"] = [{"name": "driverFail", "value": "transient:99"}]
    mid = (await h.post(body, asynchronous=True)).json()["id"]
    await until(h, mid, lambda m: m.get("held") is True, "held")
    deleted = await h.delete("cc", asynchronous=True)
    assert deleted.status_code == 202, deleted.text
    done = await h.finished(mid)
    assert done["state"] == "InError" and done["held"] is False
    assert summary(done)["outcome"] == "cancelled"
    assert "cc-a" in {c.service_id for c in driver.ok("compensate")}
