"""The figures of issues #9 and #10, each measured against real uvicorn processes (bench.servers)."""

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

from bench import abuse, load, postgres, trees
from bench.listeners import Listener
from bench.servers import API, ROOT, baseline, free_port, process, sqlite_url, tmf640
from bench.subscribers import subscribers

Figure = dict[str, Any]
ASYNC = {"Prefer": "respond-async"}
# `python -m bench --against TREE`: another checkout (e.g. main) measured side by side where a figure can.
OPTIONS: dict[str, Any] = {"against": None}
LOCAL = '["127.0.0.0/8"]'  # the hub figure's listeners are local: allowed as callbacks (docs/security.md)


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


async def _register(base: str, listeners: list[Listener]) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        for listener in listeners:
            await listener.start()
            registered = await client.post(f"{base}{API}/hub", json={
                "callback": listener.url, "query": "eventType=ServiceCreateEvent"})
            registered.raise_for_status()


def _delivered(listeners: list[Listener]) -> int:
    return sum(len(x.times) for x in listeners)


async def _feed(url: str, start: int, count: int, rate: float, listeners: list[Listener],
                samples: list[tuple[float, int]]) -> tuple[float, float, float]:
    """Run bench.feed (another process writing `count` events at `rate`/s); sample the listeners' backlog (events
    due by the feeder's schedule times listeners, minus deliveries) every 0.25 s until every delivery arrived.
    Returns when the feeder was ready, when it was done, and when the last delivery arrived."""
    before = _delivered(listeners)
    want = before + count * len(listeners)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.feed", url, str(start), str(count), str(rate), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    if (await proc.stdout.readline()).strip() != b"ready":
        raise RuntimeError("bench.feed did not start")
    ready = time.perf_counter()
    done_task = asyncio.create_task(proc.stdout.readline())
    done = 0.0
    deadline = time.monotonic() + 600
    while _delivered(listeners) < want and time.monotonic() < deadline:
        await asyncio.sleep(0.25)  # sampling deliveries made by another process, bounded above
        now = time.perf_counter()
        if done_task.done() and not done:
            done = now
        written = min(count, rate * (now - ready)) if rate and not done else count if done else 0
        samples.append((now - ready, int(written * len(listeners)) - (_delivered(listeners) - before)))
    line = (await done_task).split()
    await proc.wait()
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"bench.feed failed ({proc.returncode})")
    done = ready + float(line[1])
    times = [t for x in listeners for t in x.times]
    return ready, done, max(times, default=done)


async def _hub_run(base: str, url: str, burst: int, paced: int, listeners: list[Listener]) -> dict[str, Any]:
    await _register(base, listeners)
    # A backlog written at once (as an import or a burst of orders does): how fast the hub delivers it all.
    samples: list[tuple[float, int]] = []
    ready, _done, last = await _feed(url, 0, burst, 0, listeners, samples)
    times = sorted(t for x in listeners for t in x.times)
    burst_rate = len(times) / max(last - times[0], 1e-9) if times else 0.0
    # Then a steady 100 events/s: the backlog must stay bounded (no growth), drained soon after the input stops.
    paced_samples: list[tuple[float, int]] = []
    p_ready, p_done, p_last = await _feed(url, burst, paced, 100.0, listeners, paced_samples)
    for listener in listeners:
        await listener.stop()
    half = [b for t, b in paced_samples if t <= (p_done - p_ready) / 2]
    second = [b for t, b in paced_samples if (p_done - p_ready) / 2 < t <= p_done - p_ready]
    return {"burst_events": burst, "burst_delivered": len(times), "burst_rate": burst_rate,
            "burst_s": last - ready, "paced_events": paced, "paced_s": p_done - p_ready,
            "paced_delivered": _delivered(listeners) - len(times), "paced_tail_s": max(0.0, p_last - p_done),
            "paced_backlog_first_half_max": max(half, default=0),
            "paced_backlog_second_half_max": max(second, default=0)}


def hub(tmp: Path, quick: bool) -> Figure:
    """10 local HTTP listeners on ServiceCreateEvent. Events come from another process writing to the same
    database (bench.feed, as `tmf640 import` or a second instance would): first a backlog at once (the figure:
    deliveries per second in all), then 100 events/s (the backlog must not grow: its peak in the first and the
    second half of the run, and how long after the last event the last delivery came)."""
    burst, paced = (300, 300) if quick else (3_000, 2_000)
    listeners = [Listener() for _ in range(10)]
    url = sqlite_url(tmp / "hub.db")
    with tmf640(url, tmp / "hub.log", hub_callback_allow=LOCAL) as base:
        d = asyncio.run(_hub_run(base, url, burst, paced, listeners))
    return {
        "figure": "hub delivery, 10 listeners",
        "target": ">= 1,000 deliveries/s; steady at 100 events/s in",
        "value": d["burst_rate"],
        "measured": f"{d['burst_rate']:,.0f}/s ({d['burst_delivered']} of {burst * 10}); at 100 events/s in for "
                    f"{d['paced_s']:.0f} s: backlog peak {d['paced_backlog_first_half_max']} then "
                    f"{d['paced_backlog_second_half_max']}, drained {d['paced_tail_s']:.1f} s after the last event",
        "details": d,
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
    """`python -m app serve` on an empty database until /health/ready answers 200 (migrations included): wall
    time, and the CPU time the process used until then (less disturbed by other work on the machine)."""
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
            ready = f"http://127.0.0.1:{port}/health/ready"  # 503 until ready: process() waits for a status < 500
            with process(command, ready, tmp / "start.log", cwd=tree) as started:
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


def tree(tmp: Path, quick: bool) -> Figure:
    """Issue #10: a 1+20+400 tree through GraphQL vs the REST list of its services (bench.trees)."""
    return trees.tree_figure(tmp, quick, OPTIONS["against"])


FIGURES = {"get": get_by_id, "activations": activations, "hub": hub, "import": bulk_import, "start": cold_start,
           "tree": tree, "subscribers": subscribers,
           "abuse": abuse.figure, "pg": postgres.figure}
