"""End to end: a real server process is killed (SIGKILL) in the middle of two bundles and started again.

Afterwards every Monitor is finished, every service is in the state its policy demands (the successful bundle
wholly active, the failing atomic bundle wholly undone), and the simulated driver's journal (appended by both
processes) shows that no step was ever executed under two different ids.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
API = "/tmf-api/serviceActivationAndConfiguration/v4"
DEADLINE = 120.0  # a bound on a loaded, shared machine, not a sleep: polling ends as soon as the state holds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], Any], seconds: float = DEADLINE) -> Any:
    """Poll an external process's state until `check` returns something truthy, within a deadline."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def bundle(name: str, size: int, *, chain: int, failing: str | None = None) -> dict[str, Any]:
    members = []
    for i in range(size):
        sid = f"{name}-{i}"
        member: dict[str, Any] = {"id": sid, "name": sid, "state": "active", "serviceSpecification": {"name": "line"}}
        if i % chain:
            member["serviceRelationship"] = [{"relationshipType": "dependsOn", "service": {"id": f"{name}-{i - 1}"}}]
        if sid == failing:
            member["serviceCharacteristic"] = [{"name": "simulateFailure", "value": "activate"}]
        members.append(member)
    return {"id": name, "name": name, "state": "active", "isBundle": True, "serviceSpecification": {"name": "bundle"},
            "supportingService": members}


class Server:
    def __init__(self, tmp: Path, port: int, env: dict[str, str]) -> None:
        self.tmp, self.port, self.env = tmp, port, env
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, label: str) -> None:
        with (self.tmp / f"server-{label}.log").open("wb") as log:  # the server writes to its own copy
            self.proc = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT)
        _until("the server to answer", self._healthy, 30)

    def _healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, "the server exited"
        try:
            return httpx.get(f"{self.base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "TMF640_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        "TMF640_PORT": str(port),
        "TMF640_HOST": "127.0.0.1",
        "TMF640_LOG_LEVEL": "warning",
        "TMF640_ACTIVATION_LEASE_SECONDS": "2",
        "TMF640_RUNNER_POLL_SECONDS": "0.2",
        "TMF640_ACTIVATION_CONCURRENCY": "8",
        "TMF640_DRIVER_CONFIG": json.dumps(
            {"simulated": {"latencyMs": 20, "journal": str(tmp_path / "journal.jsonl")}}
        ),
    }
    s = Server(tmp_path, port, env)
    try:
        yield s
    finally:
        s.kill()


def _journal(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.e2e
def test_sigkill_mid_bundle_then_restart(server: Server, tmp_path: Path) -> None:
    server.start("first")
    big = bundle("big", 200, chain=10)  # 20 chains of 10 dependent members, run 8 at a time
    doomed = bundle("doomed", 30, chain=10, failing="doomed-29")  # fails at the very end: 29 to undo
    monitors = {}
    for name, body in (("big", big), ("doomed", doomed)):
        response = httpx.post(f"{server.base}{API}/service", json=body, headers={"Prefer": "respond-async"},
                              timeout=30)
        assert response.status_code == 202, response.text
        monitors[name] = response.json()["id"]
    first_pid = server.proc.pid if server.proc else None
    _until("work under way", lambda: sum(1 for x in _journal(tmp_path) if x["phase"] == "execute") >= 40)
    server.kill()
    before = _journal(tmp_path)
    assert not any(x["serviceId"] == "big" for x in before), "the kill came too late to be mid-way"

    server.start("second")

    def final(mid: str) -> dict[str, Any] | None:
        monitor = httpx.get(f"{server.base}{API}/monitor/{mid}", timeout=5).json()
        return monitor if monitor["state"] in ("Completed", "InError") else None

    big_monitor = _until("the big bundle to finish", lambda: final(monitors["big"]))
    doomed_monitor = _until("the doomed bundle to finish", lambda: final(monitors["doomed"]))
    assert big_monitor["state"] == "Completed"
    assert doomed_monitor["state"] == "InError"
    assert httpx.get(f"{server.base}{API}/monitor", params={"state": "InProgress"}).json() == []

    services = {s["id"]: s for s in httpx.get(f"{server.base}{API}/service", params={"limit": 1000}).json()}
    assert len(services) == 201 + 31
    assert {services[f"big-{i}"].get("state") for i in range(200)} | {services["big"].get("state")} == {"active"}
    assert all("state" not in services[f"doomed-{i}"] for i in range(30)) and "state" not in services["doomed"]
    assert all("x-activation" not in s for s in services.values())

    journal = _journal(tmp_path)
    ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for line in journal:
        ids[(line["serviceId"], line["action"], line["phase"])].add(line["stepId"])
    twice = {k: v for k, v in ids.items() if len(v) > 1}
    assert twice == {}, f"executed under different step ids: {twice}"
    executed = {line["serviceId"] for line in journal if line["phase"] == "execute"}
    assert executed >= {f"big-{i}" for i in range(200)} | {"big"}
    pids = {line["pid"] for line in journal if line["phase"] == "execute" and line["serviceId"].startswith("big")}
    assert first_pid in pids and len(pids) == 2  # both processes worked on the big bundle
    undone = {line["serviceId"] for line in journal if line["phase"] == "compensate"}
    assert undone == {f"doomed-{i}" for i in range(29)}
    server.stop()
