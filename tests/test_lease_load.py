"""Leases hold under load (issue #8): two servers on one PostgreSQL, 200 activations at once, and another
process keeping both cores busy. No live runner loses a lease, no deadlock is reported, no step is sent twice
(nothing crashes here, so a second send could only come from a lease lost)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.driver_service import DriverService
from tests.processes import API, Server, until

ACTIVATIONS = 200
BURN_SECONDS = 60  # the burner stops by itself after this, whatever happens to the test

BURNER = f"""
import multiprocessing, time
def burn(deadline):
    while time.monotonic() < deadline:
        pass
if __name__ == "__main__":
    deadline = time.monotonic() + {BURN_SECONDS}
    workers = [multiprocessing.Process(target=burn, args=(deadline,)) for _ in range(2)]
    for w in workers: w.start()
    for w in workers: w.join()
"""


@pytest.mark.e2e
def test_leases_hold_under_cpu_load(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two servers share PostgreSQL")
    driver = DriverService(latency=0.05).start()
    env = {
        "TMF640_DATABASE_URL": database_url, "TMF640_BUS_URL": "postgresql://", "TMF640_LOG_LEVEL": "warning",
        "TMF640_MIGRATE_ON_START": "false", "TMF640_RUNNER_POLL_SECONDS": "0.2",
        "TMF640_RUNNER_MAX_ACTIVATIONS": "64", "TMF640_DRIVERS": json.dumps({"*": "http"}),
        "TMF640_DRIVER_CONFIG": json.dumps({"http": {"url": driver.url, "retries": 0, "timeoutSeconds": 30}}),
    }  # the lease is the default one: what must hold is what operators run
    servers = [Server(f"load{i}", tmp_path, env) for i in range(2)]
    burning: subprocess.Popen[bytes] | None = None
    try:
        for s in servers:
            s.start()
        burning = subprocess.Popen([sys.executable, "-c", BURNER])
        bodies = [{"id": f"ld{i:03d}", "name": f"ld{i:03d}", "state": "active", "isBundle": True,
                   "serviceSpecification": {"name": "bundle"},
                   "supportingService": [{"id": f"ld{i:03d}-m", "name": "m", "state": "active",
                                          "serviceSpecification": {"name": "line"}}]} for i in range(ACTIVATIONS)]
        with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=8)) as http:

            def submit(i: int) -> str:
                response = http.post(f"{servers[i % 2].base}{API}/service", json=bodies[i],
                                     headers={"Prefer": "respond-async"})
                assert response.status_code == 202, response.text
                return str(response.json()["id"])

            with ThreadPoolExecutor(8) as pool:
                monitors = list(pool.map(submit, range(ACTIVATIONS)))

            def finished() -> bool:
                page = http.get(f"{servers[0].base}{API}/monitor", params={"state": "InProgress", "limit": 1})
                return page.status_code == 200 and page.json() == []

            until("every activation to finish", finished, 240, every=0.5)
            states = Counter(http.get(f"{servers[1].base}{API}/monitor/{m}").json()["state"] for m in monitors)
    finally:
        if burning is not None:
            burning.terminate()
            burning.wait(10)
        for s in servers:
            s.stop()
        driver.stop()
    logs = "".join(s.log_text() for s in servers)
    sends = Counter((c.step_id, c.phase) for c in driver.calls)
    figures = {
        "activations": ACTIVATIONS, "steps_sent": len(sends), "driver_calls": len(driver.calls),
        "resent": sum(n - 1 for n in sends.values()), "leases_lost": logs.count("lease lost"),
        "deadlocks": logs.lower().count("deadlock"), "renew_failures": logs.count("renewing leases failed"),
    }
    print("\nlease load: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert states == {"Completed": ACTIVATIONS}
    assert figures["leases_lost"] == 0, logs[-3000:]
    assert figures["deadlocks"] == 0, logs[-3000:]
    assert figures["resent"] == 0
    assert figures["steps_sent"] == 2 * ACTIVATIONS
