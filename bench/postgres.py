"""Figure `pg`: activations end to end on PostgreSQL with two server processes sharing the database and the bus.

A PostgreSQL cluster with its default durability (fsync on) is started for the run (tests.pg: Debian's
`postgresql` binaries), migrated, and served by two `tmf640 serve` processes (`TMF640_BUS_URL=postgresql://`).
The creates (`state: active`, `Prefer: respond-async`, zero-latency simulated driver) go to both in turn, 16 at
once; the figure ends when every Monitor is final. A GET figure is measured beside it: `wrk` is not needed,
the same asyncio client as the activations posts `GET /service/{id}` for 5 s to each process at once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import load
from bench.servers import API, ROOT, tmf640
from tests import pg

Figure = dict[str, Any]
ASYNC = {"Prefer": "respond-async"}


def _document(i: int) -> dict[str, Any]:
    return {"name": f"pg-{i}", "state": "active", "serviceSpecification": {"name": "line"}}


async def _post_all(bases: list[str], n: int) -> list[int]:
    limits = httpx.Limits(max_connections=load.CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        calls = [client.post(f"{bases[i % len(bases)]}{API}/service", json=_document(i), headers=ASYNC)
                 for i in range(n)]
        responses = await load.in_parallel(calls)  # type: ignore[arg-type]
    return [r.status_code for r in responses]  # type: ignore[attr-defined]


async def _gets(bases: list[str], id: str, seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient, base: str) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            (await client.get(f"{base}{API}/service/{id}")).raise_for_status()
            done += 1

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one(client, base) for base in bases for _ in range(8)))
    return done


def _final(client: httpx.Client, base: str) -> int:
    total = 0
    for state in ("Completed", "InError"):
        response = client.get(f"{base}{API}/monitor?state={state}&limit=1")
        total += int(response.headers["X-Total-Count"])
    return total


def figure(tmp: Path, quick: bool) -> Figure:
    n = 40 if quick else 300
    cluster = pg.start(durability="")
    try:
        url = cluster.url("postgres")
        subprocess.run([sys.executable, "-m", "app", "migrate", "--database-url", url], cwd=ROOT, check=True,
                       capture_output=True)
        with tmf640(url, tmp / "a.log", bus_url="postgresql://") as a, \
                tmf640(url, tmp / "b.log", bus_url="postgresql://") as b, httpx.Client(timeout=60) as client:
            start = time.perf_counter()
            codes = asyncio.run(_post_all([a, b], n))
            deadline = time.monotonic() + 600
            while (final := _final(client, a)) < n and time.monotonic() < deadline:
                time.sleep(0.05)  # waiting on two other processes' work, bounded above
            elapsed = time.perf_counter() - start
            some = client.get(f"{a}{API}/service?limit=1").json()[0]["id"]
            seconds = 2.0 if quick else 5.0
            gets = asyncio.run(_gets([a, b], some, seconds)) / seconds
    finally:
        cluster.stop()
    rate = final / elapsed
    return {
        "figure": "PostgreSQL, two processes: activations end to end; GET /service/{id}",
        "target": "(no target: what to expect)",
        "value": rate,
        "measured": f"{rate:,.1f} activations/s ({final} of {n} final in {elapsed:.1f} s); GET {gets:,.0f} req/s "
                    f"over both (httpx client, 16 connections)",
        "details": {"activations": n, "final": final, "elapsed_s": elapsed, "statuses": sorted(set(codes)),
                    "get_per_s": gets},
    }
