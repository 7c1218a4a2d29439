"""Figure `abuse`: a normal request's p99 while abusers run, beside its p99 without (issue #10, target <= 2x).

One real uvicorn server (bench.servers.tmf640). A prober in this process sends normal requests, alternating
`GET /service/{id}` and a small GraphQL query, from 2 connections. The abusers run in another process
(`python -m bench.abuse URL SECONDS`, so their CPU is not on the prober's event loop):

- 2,000 extra WebSocket connections to /graphql (graphql-transport-ws, `connection_init` sent), held open; one
  refused (closed with a code) is opened again 5 s later, then 10, 20... up to 60 s, as WebSocket client
  libraries back off (`BENCH_RETRY=5`: every 5 s without backing off, a reconnection flood: docs/security.md);
- documents up to the token limit (`{ service(id: ...) { id id id ... } }`, ~20,000 tokens, ~60 KB), posted
  over HTTP in a loop from 4 connections and sent as `subscribe` messages over one WebSocket.

That is the figure (issue #10's abuse). A third phase adds the worst documents the byte cap admits (the same
shape, 32,000 bytes: parsed to the token limit, at the most that costs), 4 more loops; its p99
is printed beside, not part of the ratio. `BENCH_ABUSE=sockets` (or `oversized`) runs one kind alone;
`BENCH_ABUSE_TREE=../main` measures another checkout's server.

The abuser prints `ready` once its sockets are open (or refused), then a JSON summary when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.servers import API, ROOT, sqlite_url, tmf640

SOCKETS = 2_000
FIGURE_KINDS = ["sockets", "oversized"]
KINDS = os.environ.get("BENCH_ABUSE", ",".join(FIGURE_KINDS)).split(",")
DOCUMENT_LOOPS = 4
PROBE_CONNECTIONS = 2
RETRY = 5.0  # seconds before a refused or closed socket is opened again, doubling to RETRY_CAP (as WS clients do)
RETRY_CAP = 60.0
FIXED_RETRY = os.environ.get("BENCH_RETRY")
PROBE_TIMEOUT = 30.0
SMALL_QUERY = 'query Probe { service(id: "bench-abuse-1") { id name state } }'
TOKENS = 20_000  # the documents: up to the token limit of the time (now 10,000: parsing stops there)
ADMITTED_BYTES = 32_000  # just under TMF640_GRAPHQL_MAX_DOCUMENT_BYTES' default (32,768)


def oversized(tokens: int = TOKENS) -> str:
    """A document just under the token limit whose validation is costly (one response name, many times)."""
    return '{ service(id: "bench-abuse-1") { ' + "id " * (tokens - 12) + "} }"


def largest_admitted(size: int = ADMITTED_BYTES) -> str:
    """The same shape, as long as the byte cap lets through: parsed and validated, at the most it can cost."""
    return '{ service(id: "bench-abuse-1") { ' + "id " * ((size - 40) // 3) + "} }"


def raise_file_limit() -> None:
    """Thousands of sockets need file descriptors: the soft limit raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65_536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# ---- the abuser process ----------------------------------------------------------------------------------


async def _hold_socket(ws_url: str, stop: asyncio.Event, seen: Counter[str], opened: asyncio.Event | None) -> None:
    import websockets

    first = True
    wait = float(FIXED_RETRY) if FIXED_RETRY else RETRY
    while not stop.is_set():
        try:
            async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                          open_timeout=30, ping_interval=None, max_size=None) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                await asyncio.wait_for(ws.recv(), 30)  # connection_ack, or the close that refuses us
                seen["held"] += 1
                if first and opened:
                    opened.set()
                first = False
                stopped = asyncio.ensure_future(stop.wait())
                await asyncio.wait([stopped, asyncio.ensure_future(ws.wait_closed())],
                                   return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                if ws.close_code is not None:
                    seen[f"closed {ws.close_code}"] += 1
        except TimeoutError:
            pass
        except Exception as exc:
            code = getattr(getattr(exc, "rcvd", None), "code", None)
            seen[f"refused {code}" if code else f"error {type(exc).__name__}"] += 1
        if first and opened:
            opened.set()
        first = False
        with contextlib.suppress(TimeoutError):  # a refused socket is tried again later
            await asyncio.wait_for(stop.wait(), wait)
        wait = wait if FIXED_RETRY else min(wait * 2, RETRY_CAP)


async def _post_documents(url: str, stop: asyncio.Event, seen: Counter[str], kind: str) -> None:
    body = {"query": largest_admitted() if kind == "admitted" else oversized()}
    async with httpx.AsyncClient(timeout=120) as client:
        while not stop.is_set():
            try:
                response = await client.post(f"{url}/graphql", json=body)
                seen[f"http {kind} {response.status_code}"] += 1
            except httpx.HTTPError as exc:
                seen[f"http {type(exc).__name__}"] += 1


async def _subscribe_documents(ws_url: str, stop: asyncio.Event, seen: Counter[str]) -> None:
    import websockets

    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  ping_interval=None, max_size=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        await ws.recv()
        n = 0
        while not stop.is_set():
            n += 1
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": oversized()}}))
            try:
                answer = json.loads(await asyncio.wait_for(ws.recv(), 60))
                seen[f"ws {answer.get('type')}"] += 1
            except TimeoutError:
                seen["ws timeout"] += 1


async def abuse(url: str, seconds: float, kinds: list[str]) -> dict[str, Any]:
    """Abuse `url` until a line arrives on stdin (or `seconds` passed); what each abuser saw, counted."""
    ws_url = url.replace("http", "ws", 1) + "/graphql"
    sockets: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    told = loop.run_in_executor(None, sys.stdin.readline)
    told.add_done_callback(lambda _: stop.set())
    loop.call_later(seconds, stop.set)
    gate = asyncio.Semaphore(100)  # sockets opened 100 at a time

    events = [asyncio.Event() for _ in range(SOCKETS if "sockets" in kinds else 0)]

    async def one(opened: asyncio.Event) -> None:
        async with gate:
            task = asyncio.ensure_future(_hold_socket(ws_url, stop, sockets, opened))
            await opened.wait()
        await task

    holders = [asyncio.ensure_future(one(e)) for e in events]
    all_open = asyncio.ensure_future(asyncio.gather(*(e.wait() for e in events)))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([all_open, stopped], return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
    senders = [asyncio.ensure_future(_post_documents(url, stop, documents, kind))
               for kind in ("oversized", "admitted") if kind in kinds for _ in range(DOCUMENT_LOOPS)]
    if "oversized" in kinds:
        senders.append(asyncio.ensure_future(_subscribe_documents(ws_url, stop, documents)))
    print("ready", json.dumps(dict(sockets)), flush=True)
    await asyncio.gather(*holders, *senders, return_exceptions=True)
    return {"sockets": dict(sockets), "documents": dict(documents)}


# ---- the prober and the figure ----------------------------------------------------------------------------


async def probe(base: str, seconds: float) -> dict[str, list[float]]:
    """Normal requests from PROBE_CONNECTIONS connections for `seconds`; latencies in ms by kind."""
    times: dict[str, list[float]] = {"get": [], "graphql": [], "failed": []}
    end = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        async def worker(i: int) -> None:
            n = i
            while time.monotonic() < end:
                n += 1
                started = time.perf_counter()
                kind = "get" if n % 2 else "graphql"
                try:
                    if kind == "get":
                        response = await client.get(f"{base}{API}/service/bench-abuse-1")
                    else:
                        response = await client.post(f"{base}/graphql", json={"query": SMALL_QUERY})
                        if "errors" in response.json():
                            kind = "failed"
                    if response.status_code != 200:
                        kind = "failed"
                except httpx.HTTPError:
                    kind = "failed"  # a timeout: counted at its elapsed time, in the p99 too
                times[kind].append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker(i) for i in range(PROBE_CONNECTIONS)))
    return times


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _summary(times: dict[str, list[float]]) -> dict[str, Any]:
    both = times["get"] + times["graphql"] + times["failed"]  # a failed request counts at its elapsed time
    return {"requests": len(both), "failed": len(times["failed"]), "p99_ms": p99(both),
            "p50_ms": statistics.median(both) if both else float("nan"),
            "get_p99_ms": p99(times["get"]), "graphql_p99_ms": p99(times["graphql"])}


def _abused(base: str, seconds: float, kinds: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prober's summary while an abuser process runs `kinds`, and what the abuser saw."""
    abuser = subprocess.Popen([sys.executable, "-m", "bench.abuse", base, str(seconds + 300), ",".join(kinds)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert abuser.stdout is not None
        abuser.stdout.readline()  # "ready": the sockets are open (or refused)
        abused = _summary(asyncio.run(probe(base, seconds)))
    finally:
        try:
            out, _ = abuser.communicate("stop\n", timeout=120)
        except subprocess.TimeoutExpired:
            abuser.kill()
            out, _ = abuser.communicate()
    try:
        seen: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        seen = {"output": out[-500:]}
    return abused, seen


def figure(tmp: Path, quick: bool) -> dict[str, Any]:
    raise_file_limit()
    seconds = 8.0 if quick else 30.0
    log = tmp / "abuse.log"
    tree = Path(os.environ.get("BENCH_ABUSE_TREE", ROOT))  # another checkout's server (e.g. main, for "before")
    with tmf640(sqlite_url(tmp / "abuse.db"), log, tree=tree) as base:
        created = httpx.post(f"{base}{API}/service", timeout=60, json={
            "id": "bench-abuse-1", "name": "probe", "state": "designed", "serviceSpecification": {"name": "s"}})
        created.raise_for_status()
        asyncio.run(probe(base, 2.0))  # warm-up, not counted
        quiet = _summary(asyncio.run(probe(base, seconds)))
        abused, seen = _abused(base, seconds, KINDS)
        worst, worst_seen = _abused(base, seconds, [*KINDS, "admitted"]) if KINDS == FIGURE_KINDS else ({}, {})
    log_bytes = log.stat().st_size if log.exists() else 0
    ratio = abused["p99_ms"] / quiet["p99_ms"]
    extra = f"; with the largest admitted documents too: {worst['p99_ms']:.0f} ms" if worst else ""
    return {
        "figure": "normal request p99 under abuse (2,000 sockets, oversized documents)",
        "target": "<= 2x",
        "value": ratio,
        "measured": f"p99 {abused['p99_ms']:.0f} ms under abuse vs {quiet['p99_ms']:.0f} ms quiet = {ratio:.2f}x "
                    f"({abused['failed']} failed){extra}; server log {log_bytes / 1e6:.1f} MB",
        "details": {"quiet": quiet, "abused": abused, "abusers_saw": seen, "with_admitted": worst,
                    "with_admitted_abusers_saw": worst_seen, "kinds": KINDS, "seconds": seconds,
                    "log_bytes": log_bytes},
    }


def main() -> None:
    raise_file_limit()
    url, seconds, kinds = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
    try:
        result = asyncio.run(abuse(url, seconds, kinds))
    except KeyboardInterrupt:
        return
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
