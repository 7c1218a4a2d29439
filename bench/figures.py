"""The figures of issue #9, each measured against real uvicorn processes (bench.servers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import abuse, load
from bench.listeners import Listener
from bench.servers import API, ROOT, baseline, free_port, process, sqlite_url, tmf640

Figure = dict[str, Any]
ASYNC = {"Prefer": "respond-async"}
# `python -m bench --against TREE`: another checkout (e.g. main) measured side by side where a figure can.
OPTIONS: dict[str, Any] = {"against": None}


def document(i: int, state: str = "feasibilityChecked") -> dict[str, Any]:
    """A realistic Service_Create: projections, a party, characteristics."""
    return {
        "name": f"svc-{i:06d}",
        "state": state,
        "category": f"cat-{i % 7}",
        "serviceType": "CFS",
        "startDate": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
        "serviceSpecification": {"id": f"spec-{i % 5}", "name": f"Spec{i % 5}"},
        "relatedParty": [{"id": f"party-{i % 50}", "role": "customer"}],
        "serviceCharacteristic": [{"name": "MSISDN", "value": f"+4470000{i:05d}"},
                                  {"name": "speed", "value": 100 + i % 900}],
    }


def _wait_settled(client: httpx.Client, base: str, id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(f"{base}{API}/service/{id}").json()
        if "x-activation" not in body or time.monotonic() > deadline:
            return body
        time.sleep(0.05)  # waiting on another process's work, bounded above


def _seed(base: str) -> tuple[dict[str, Any], str]:
    """The service the GET figure reads, created through the API (which waits for its work: 201)."""
    with httpx.Client(timeout=60) as client:
        created = client.post(f"{base}{API}/service", json={"id": "bench-get-1", **document(1)})
        created.raise_for_status()
        return _wait_settled(client, base, "bench-get-1"), "bench-get-1"


def get_by_id(tmp: Path, quick: bool) -> Figure:
    """GET /service/{id} of tmf640 and of the bare baseline, alternated in one run, same uvicorn, 16 connections."""
    db = tmp / "get.db"
    log = tmp / "get.log"
    seconds, rounds = (3.0, 1) if quick else (10.0, 3)
    against: Path | None = OPTIONS["against"]
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(tmf640(sqlite_url(db), log))
        ours, id = _seed(base)
        bare = stack.enter_context(baseline(db, log))
        other = None
        if against:  # its own database: its migrations may differ; the same service, by the same id
            other = stack.enter_context(tmf640(sqlite_url(tmp / "against.db"), log, tree=against))
            _seed(other)
        theirs = httpx.get(f"{bare}{API}/service/{id}", timeout=30).json()
        same = {k: v for k, v in ours.items() if k != "href"} == {k: v for k, v in theirs.items() if k != "href"}
        app_rps: list[float] = []
        bare_rps: list[float] = []
        other_rps: list[float] = []
        for _ in range(rounds):
            app_rps.append(load.requests_per_second(f"{base}{API}/service/{id}", seconds))
            bare_rps.append(load.requests_per_second(f"{bare}{API}/service/{id}", seconds))
            if other:
                other_rps.append(load.requests_per_second(f"{other}{API}/service/{id}", seconds))
    app, bare_median = statistics.median(app_rps), statistics.median(bare_rps)
    measured = f"{app:,.0f} vs {bare_median:,.0f} req/s = {app / bare_median:.2f}x"
    if other_rps and against is not None:
        measured += f"; {against.name}: {statistics.median(other_rps):,.0f} req/s = " \
                    f"{statistics.median(other_rps) / bare_median:.2f}x"
    return {
        "figure": "GET /service/{id} vs bare Starlette + aiosqlite",
        "target": ">= 0.5x",
        "value": app / bare_median,
        "measured": measured,
        "details": {"app_rps": app_rps, "baseline_rps": bare_rps, "against_rps": other_rps, "same_json": same,
                    "seconds": seconds, "generator": load.generator(), "concurrency": load.CONCURRENCY},
    }


def _count(client: httpx.Client, base: str, query: str) -> int:
    response = client.get(f"{base}{API}/monitor?{query}&limit=1")
    return int(response.headers["X-Total-Count"])


async def _post_all(base: str, bodies: list[dict[str, Any]]) -> list[int]:
    limits = httpx.Limits(max_connections=load.CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        calls = [client.post(f"{base}{API}/service", json=b, headers=ASYNC) for b in bodies]
        responses = await load.in_parallel(calls)  # type: ignore[arg-type]
    return [r.status_code for r in responses]  # type: ignore[attr-defined]


def activations(tmp: Path, quick: bool) -> Figure:
    """Creates with `state: active` (zero-latency simulated driver), 16 at once; until every Monitor is final."""
    n = 40 if quick else 300
    with tmf640(sqlite_url(tmp / "act.db"), tmp / "act.log") as base, httpx.Client(timeout=60) as client:
        start = time.perf_counter()
        codes = asyncio.run(_post_all(base, [document(i, "active") for i in range(n)]))
        submitted = time.perf_counter() - start
        deadline = time.monotonic() + 600
        while True:
            completed = _count(client, base, "state=Completed")
            failed = _count(client, base, "state=InError")
            if completed + failed >= n or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # waiting on another process's work, bounded above
        elapsed = time.perf_counter() - start
    rate = completed / elapsed
    return {
        "figure": "activations completed end to end",
        "target": ">= 250/s (SQLite, one process)",
        "value": rate,
        "measured": f"{rate:,.1f}/s ({completed} of {n} Completed in {elapsed:.1f} s)",
        "details": {"activations": n, "completed": completed, "failed": failed, "elapsed_s": elapsed,
                    "submitted_s": submitted, "statuses": sorted(set(codes))},
    }


async def _hub_run(base: str, n: int, listeners: list[Listener]) -> tuple[float, float, float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for listener in listeners:
            await listener.start()
            registered = await client.post(f"{base}{API}/hub", json={
                "callback": listener.url, "query": "eventType=ServiceCreateEvent"})
            registered.raise_for_status()
    start = time.perf_counter()
    await _post_all(base, [document(i) for i in range(n)])
    created = time.perf_counter()
    deadline = time.monotonic() + 600
    while sum(len(x.times) for x in listeners) < n * len(listeners) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # waiting on another process's deliveries, bounded above
    for listener in listeners:
        await listener.stop()
    last = max((t for x in listeners for t in x.times), default=created)
    return start, created, last


def hub(tmp: Path, quick: bool) -> Figure:
    """10 local HTTP listeners on ServiceCreateEvent; n creates; deliveries per second until all arrived."""
    n = 30 if quick else 300
    listeners = [Listener() for _ in range(10)]
    with tmf640(sqlite_url(tmp / "hub.db"), tmp / "hub.log") as base:
        start, created, last = asyncio.run(_hub_run(base, n, listeners))
    delivered = sum(len(x.times) for x in listeners)
    after = sum(1 for x in listeners for t in x.times if t > created)
    rate = delivered / max(last - start, 1e-9)
    drain = after / max(last - created, 1e-9) if after else float("nan")
    return {
        "figure": "hub delivery, 10 listeners",
        "target": ">= 1,000 deliveries/s",
        "value": rate,
        "measured": f"{rate:,.0f}/s ({delivered} of {n * 10}; backlog after the creates drained at {drain:,.0f}/s)",
        "details": {"events": n, "delivered": delivered, "elapsed_s": last - start, "creates_s": created - start,
                    "drain_rate": drain},
    }


def write_import_file(path: Path, n: int) -> None:
    with path.open("w") as out:
        for i in range(n):
            out.write(json.dumps({"id": f"bulk-{i:06d}", **document(i)}) + "\n")


def bulk_import(tmp: Path, quick: bool) -> Figure:
    """`tmf640 import` of n services (NDJSON) into a fresh SQLite file: wall time and the child's peak RSS."""
    n = 5_000 if quick else 100_000
    source = tmp / "import.ndjson"
    write_import_file(source, n)
    url = sqlite_url(tmp / "import.db")
    command = [sys.executable, "-m", "app", "import", str(source), "--database-url", url, "--no-progress"]
    start = time.perf_counter()
    with (tmp / "import.log").open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"import failed; see {tmp / 'import.log'}")
    rss_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "figure": f"{n:,} services by bulk import",
        "target": "< 60 s for 100,000, RSS < 500 MB",
        "value": elapsed * 100_000 / n,
        "measured": f"{elapsed:.1f} s ({n / elapsed:,.0f}/s), {cpu:.1f} s CPU, peak RSS {rss_mb:.0f} MB",
        "details": {"services": n, "elapsed_s": elapsed, "cpu_s": cpu, "rss_mb": rss_mb},
    }


def cold_start(tmp: Path, quick: bool) -> Figure:
    """`python -m app serve` on an empty database until /health answers (migrations included): wall time, and
    the CPU time the process used until then (less disturbed by other work on the machine)."""
    runs = 1 if quick else 3
    against: Path | None = OPTIONS["against"]
    trees = {"this": ROOT, **({"against": against} if against else {})}
    times: dict[str, list[float]] = {name: [] for name in trees}
    cpus: dict[str, list[float]] = {name: [] for name in trees}
    for i in range(runs + 1):  # the first run warms the page cache and is not counted
        for name, tree in trees.items():
            port = free_port()
            command = [sys.executable, "-m", "app", "serve", "--port", str(port),
                       "--database-url", sqlite_url(tmp / f"start-{name}-{i}.db")]
            with process(command, f"http://127.0.0.1:{port}/health", tmp / "start.log", cwd=tree) as started:
                if i:
                    times[name].append(started.seconds)
                    cpus[name].append(started.cpu)
    measured = f"{statistics.median(times['this']):.2f} s, {statistics.median(cpus['this']):.2f} s CPU"
    if against:
        measured += f"; {against.name}: {statistics.median(times['against']):.2f} s, " \
                    f"{statistics.median(cpus['against']):.2f} s CPU"
    median = statistics.median(times["this"])
    return {
        "figure": "cold start to first answer (empty database)",
        "target": "< 2 s",
        "value": median,
        "measured": f"{measured} (median of {runs})",
        "details": {"runs_s": times, "cpu_s": cpus},
    }


FIGURES = {"get": get_by_id, "activations": activations, "hub": hub, "import": bulk_import, "start": cold_start,
           "abuse": abuse.figure}
