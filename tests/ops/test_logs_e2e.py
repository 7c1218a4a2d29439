"""The JSON log of a real server: a request and the work it started are found by the request's correlation id."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.served import API, Served, serve

MUTATION = """
mutation Create($input: JSON!) {
  createService(input: $input) {
    __typename
    ... on ServicePayload { service { id } monitor { id state } }
  }
}"""


def _service(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": "active", "serviceSpecification": {"name": "spec"}, **extra}


def _wait_final(served: Served, monitor_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = httpx.get(f"{served.base}{API}/monitor/{monitor_id}", timeout=10).json()
        if body["state"] in ("Completed", "InError"):
            return body
        assert time.monotonic() < deadline, f"monitor {monitor_id} still {body['state']}"
        time.sleep(0.05)  # polling an external process, bounded by the deadline above


def _by(cid: str) -> Any:
    return lambda line: line.get("correlation_id") == cid


@pytest.mark.e2e
def test_requests_and_their_activations_log_under_the_correlation_id(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}"
    with serve(tmp_path, url, "--driver-config", '{"simulated": {"latencyMs": 20}}') as served:
        created = httpx.post(f"{served.base}{API}/service", json=_service("rest-one"),
                             headers={"X-Correlation-ID": "c-rest", "X-Request-ID": "r-rest"}, timeout=30)
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == "r-rest"

        answer = httpx.post(f"{served.base}/graphql", json={"query": MUTATION, "variables": {
            "input": _service("gql-one")}}, headers={"X-Correlation-ID": "c-gql"}, timeout=30).json()
        payload = answer["data"]["createService"]
        assert payload["__typename"] == "ServicePayload", answer
        assert _wait_final(served, payload["monitor"]["id"])["state"] == "Completed"

        failing = _service("doomed", serviceCharacteristic=[{"name": "simulateFailure", "value": "activate"}])
        refused = httpx.post(f"{served.base}{API}/service", json=failing, headers={
            "X-Correlation-ID": "c-fail", "Prefer": "respond-async"}, timeout=30)
        assert refused.status_code == 202, refused.text
        assert _wait_final(served, refused.json()["id"])["state"] == "InError"

        outcome = served.wait_for_line(lambda x: x.get("event") == "activation_outcome" and _by("c-fail")(x))
        served.wait_for_line(lambda x: x.get("event") == "activation_outcome" and _by("c-gql")(x))
        lines = served.lines()

    # REST: the request line and its activation's outcome, under the caller's correlation id
    rest = [line for line in lines if _by("c-rest")(line)]
    (request,) = [line for line in rest if line["message"] == "request"]
    assert request["logger"] == "tmf640.http" and request["request_id"] == "r-rest"
    assert (request["method"], request["route"], request["status"]) == ("POST", f"{API}/service", 201)
    assert request["duration_ms"] > 0 and request["level"] == "INFO" and request["time"]
    (done,) = [line for line in rest if line.get("event") == "activation_outcome"]
    assert done["outcome"] == "completed" and done["activation_id"] and done["monitor_id"]
    assert done["request_id"] == "r-rest"  # the work's lines name the request that asked for it
    assert done["monitor_id"] == created.headers.get("x-monitor-id", done["monitor_id"])

    # GraphQL: the request line, the operation line and the activation's outcome
    gql = [line for line in lines if _by("c-gql")(line)]
    assert any(line["message"] == "request" and line["route"] == "/graphql" for line in gql)
    assert any(line.get("event") == "graphql" and line["operation"] == "Create" and line["outcome"] == "ok"
               for line in gql)
    (gql_done,) = [line for line in gql if line.get("event") == "activation_outcome"]
    assert gql_done["outcome"] == "completed" and gql_done["monitor_id"] == payload["monitor"]["id"]

    # A failed activation: its step failure and its outcome, with the monitor the client was given
    fail = [line for line in lines if _by("c-fail")(line)]
    (step,) = [line for line in fail if line.get("event") == "step_failed"]
    assert step["driver"] == "simulated" and step["action"] == "activate" and step["level"] == "WARNING"
    assert outcome["outcome"] == "failed" and outcome["monitor_id"] == refused.json()["id"]
    assert outcome["activation_id"] == step["activation_id"]
    assert outcome["request_id"] == step["request_id"] == refused.headers["x-request-id"]
    # uvicorn's own lines are JSON too (lines() parsed every line)
    assert any(line["logger"].startswith("uvicorn") for line in lines)
