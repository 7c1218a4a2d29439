"""Drivers: the simulated one, the http one against a real local HTTP listener, third-party entry points."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolvers.activation.drivers import DriverError, DriverRegistry, Step, UnknownDriver
from resolvers.activation.drivers.http import HttpDriver
from resolvers.activation.drivers.simulated import SimulatedDriver
from tests.engine_support import API, MakeHarness, harness_factory, service, summary

__all__ = ["harness_factory"]


def step(id: str = "s-1", action: str = "activate", **service_attrs: Any) -> Step:
    doc = {"id": "svc", "serviceSpecification": {"name": "vCPE"}, **service_attrs}
    return Step(id=id, activation_id="a", service_id="svc", action=action, service=doc)


# ---- simulated ----------------------------------------------------------------------------------------------


async def test_simulated_fails_on_request_and_remembers_its_answers(tmp_path: Path) -> None:
    journal = tmp_path / "calls.jsonl"
    driver = SimulatedDriver(journal=str(journal))
    told = step(serviceCharacteristic=[{"name": "simulateFailure", "value": ["modify", "activate"]}])
    with pytest.raises(DriverError, match="simulated failure of activate"):
        await driver.execute(told)
    with pytest.raises(DriverError):
        await driver.execute(told)  # the same step id gets the same answer
    assert await driver.compensate(told) == {"driver": "simulated", "phase": "compensate", "action": "activate",
                                            "stepId": "s-1"}
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(x["phase"], x["stepId"], x["repeat"]) for x in lines] == [
        ("execute", "s-1", False), ("execute", "s-1", True), ("compensate", "s-1", False)]


async def test_simulated_failure_rate_is_a_function_of_the_step_id() -> None:
    one = SimulatedDriver(failure_rate={"*": 0.0, "vCPE": 0.5}, seed=7)
    two = SimulatedDriver(failure_rate={"vCPE": 0.5}, seed=7)

    async def outcome(driver: SimulatedDriver, sid: str) -> bool:
        try:
            await driver.execute(step(sid))
            return True
        except DriverError:
            return False

    first = [await outcome(one, f"s-{i}") for i in range(40)]
    assert first == [await outcome(two, f"s-{i}") for i in range(40)]
    assert True in first and False in first
    reseeded = SimulatedDriver(failure_rate={"vCPE": 0.5}, seed=8)
    assert [await outcome(reseeded, f"s-{i}") for i in range(40)] != first


async def test_simulated_latency_per_specification() -> None:
    driver = SimulatedDriver.from_config({"latencyMs": {"*": 0, "slow": 5}})
    assert driver._for_spec(driver.latency_ms, step()) == 0
    slow = Step(id="s", activation_id="a", service_id="x", action="activate",
                service={"serviceSpecification": {"id": "slow"}})
    assert driver._latency(slow) == 5
    own = step(serviceCharacteristic=[{"name": "simulateLatencyMs", "value": 12}])
    assert driver._latency(own) == 12


# ---- http ---------------------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    url: str
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)  # step or service id -> statuses, in turn
    hang: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    """A real HTTP listener on a free port, standing in for a network management system."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections wait in the backlog until the server accepts them: no start-up race
    port = sock.getsockname()[1]
    ep = Endpoint(url=f"http://127.0.0.1:{port}/steps/{{action}}")

    async def steps(request: Request) -> Response:
        body = await request.json()
        ep.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if body["stepId"] == "hangs":
            await ep.hang.wait()
        queue = ep.answers.get(body["stepId"]) or ep.answers.get(body["serviceId"], [])
        status = queue.pop(0) if queue else 200
        return JSONResponse({"accepted": body["action"], "phase": body["phase"]}, status_code=status)

    app = Starlette(routes=[Route("/steps/{action}", steps, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield ep
    ep.hang.set()
    server.should_exit = True
    await task


async def test_http_driver_posts_steps_with_their_idempotency_key(endpoint: Endpoint) -> None:
    driver = HttpDriver(url=endpoint.url, retries=2, backoff_seconds=0.01)
    endpoint.answers["s-retry"] = [503, 200]
    try:
        result = await driver.execute(step("s-retry"))
        assert result == {"accepted": "activate", "phase": "execute"}
        assert [h["idempotency-key"] for h, _ in endpoint.received] == ["s-retry", "s-retry"]
        assert endpoint.received[0][1]["service"]["id"] == "svc"
        assert endpoint.received[0][1]["action"] == "activate"
        await driver.compensate(step("s-retry"))
        headers, body = endpoint.received[-1]
        assert headers["idempotency-key"] == "s-retry:compensate" and headers["x-step-id"] == "s-retry"
        assert body["phase"] == "compensate"
    finally:
        await driver.aclose()


async def test_http_driver_reports_refusals_and_gives_up_after_its_retries(endpoint: Endpoint) -> None:
    driver = HttpDriver(url=endpoint.url, retries=1, backoff_seconds=0.01, timeout_seconds=0.2)
    endpoint.answers["refused"] = [422]
    try:
        with pytest.raises(DriverError, match="HTTP 422") as refused:
            await driver.execute(step("refused"))
        assert not refused.value.retryable
        assert len(endpoint.received) == 1  # a 4xx is an answer: not retried
        with pytest.raises(DriverError, match="after 2 attempts") as timed_out:
            await driver.execute(step("hangs"))
        assert timed_out.value.retryable
    finally:
        await driver.aclose()


async def test_the_engine_picks_the_driver_by_specification(
    endpoint: Endpoint, harness_factory: MakeHarness
) -> None:
    h = await harness_factory(
        drivers={"*": "simulated", "netconf-line": "http"},
        driver_config={"http": {"url": endpoint.url, "retries": 0}},
    )
    routed = await h.post({"name": "n", "state": "active", "serviceSpecification": {"name": "netconf-line"}})
    assert routed.status_code == 201, routed.text
    assert [(b["action"], b["serviceId"]) for _, b in endpoint.received] == [("activate", routed.json()["id"])]
    local = await h.post(service("plain"))
    assert local.status_code == 201
    assert h.executed() == [(local.json()["id"], "activate")]
    (monitor,) = (await h.client.get(f"{API}/monitor", params={"sourceHref": routed.json()["href"]})).json()
    assert summary(monitor)["members"][0]["result"] == {"accepted": "activate", "phase": "execute"}
    endpoint.answers["refused"] = [422]
    refused = await h.post({"id": "refused", "name": "n2", "state": "active",
                            "serviceSpecification": {"name": "netconf-line"}})
    assert refused.status_code == 502 and "HTTP 422" in refused.json()["message"]
    assert "state" not in await h.service("refused")
    failed = (await h.client.get(refused.headers["location"])).json()
    assert summary(failed)["members"][0]["status"] == "failed"


# ---- third-party drivers ------------------------------------------------------------------------------------


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution that declares a driver under the `tmf640.drivers` entry point group."""
    (tmp_path / "acme_driver.py").write_text(textwrap.dedent("""
        class AcmeDriver:
            instances = []

            def __init__(self, config):
                self.config = config
                self.seen = []
                AcmeDriver.instances.append(self)

            async def execute(self, step):
                self.seen.append((step.id, step.action))
                return {"acme": self.config.get("site")}

            async def compensate(self, step):
                return {}
    """))
    info = tmp_path / "acme_driver-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-driver\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tmf640.drivers]\nacme = acme_driver:AcmeDriver\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("acme_driver", None)


async def test_a_third_party_driver_comes_from_its_entry_point(third_party: Path, harness_factory: MakeHarness) -> None:
    h = await harness_factory(drivers={"*": "acme"}, driver_config={"acme": {"site": "lyon"}})
    created = await h.post(service("via acme"))
    assert created.status_code == 201, created.text
    acme = h.resolvers.engine.drivers.get("acme")
    assert acme.seen == [(acme.seen[0][0], "activate")]  # type: ignore[attr-defined]
    assert acme.config == {"site": "lyon"}  # type: ignore[attr-defined]


def test_an_unknown_driver_stops_the_start() -> None:
    with pytest.raises(UnknownDriver, match="no activation driver named 'nope'"):
        DriverRegistry({"vCPE": "nope"})
    with pytest.raises(ValueError, match="url"):
        DriverRegistry({"*": "http"})
