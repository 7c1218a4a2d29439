"""Soak: a real server under mixed REST and GraphQL traffic with 50 live subscribers; RSS sampled over time.

    python -m bench.soak                 # 10 minutes (the figure the closing note quotes)
    python -m bench.soak --minutes 1     # a quick check that it runs

Starts `python -m app serve` on a fresh SQLite file (or --database-url), opens `--subscribers` graphql-transport-ws
subscriptions to every event, and sends `--rate` operations a second, mixed: REST create (activated), REST read,
REST list, REST patch, GraphQL query, GraphQL createService. Every `--every` seconds it prints the server's RSS
(from /proc), operations done, errors and events received; at the end, whether RSS levelled off (the growth over
the second half compared with the first). Prints figures; fails nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
API = "/tmf-api/serviceActivationAndConfiguration/v4"
QUERY = "query Soak { services(first: 10) { totalCount edges { node { id name state } } } }"
RUN = uuid.uuid4().hex[:6]
CREATE = """mutation SoakCreate($input: JSON!) {
  createService(input: $input) { __typename ... on ServicePayload { service { id } } } }"""


@dataclass
class Tally:
    ops: int = 0
    errors: int = 0
    events: int = 0
    subscribers: int = 0
    ids: list[str] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def subscriber(url: str, tally: Tally, stop: asyncio.Event) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "subscription { events { eventType } }"}}))
        tally.subscribers += 1
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    message = json.loads(await ws.recv())
                    if message["type"] == "next":
                        tally.events += 1
                    elif message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))


def service(i: int) -> dict[str, Any]:
    return {"id": f"soak-{RUN}-{i}", "name": f"soak-{i}", "state": "active",
            "serviceSpecification": {"name": f"spec-{i % 5}"}, "serviceCharacteristic": [{"name": "n", "value": i}]}


async def operation(client: httpx.AsyncClient, i: int, tally: Tally) -> None:
    try:
        await _operation(client, i, tally)
    except httpx.HTTPError as exc:  # a timeout is an error of the run, not of the benchmark
        tally.ops += 1
        tally.errors += 1
        key = type(exc).__name__
        tally.failures[key] = tally.failures.get(key, 0) + 1


async def _operation(client: httpx.AsyncClient, i: int, tally: Tally) -> None:
    kind = i % 6
    if kind == 0 or not tally.ids:
        r = await client.post(f"{API}/service", json=service(i), headers={"Prefer": "respond-async"})
        if r.status_code == 202:  # the answer is the Monitor; the service has the id we gave it
            tally.ids.append(f"soak-{RUN}-{i}")
    elif kind == 1:
        r = await client.get(f"{API}/service/{random.choice(tally.ids)}")
    elif kind == 2:
        r = await client.get(f"{API}/service", params={"state": "active", "limit": 20})
    elif kind == 3:
        r = await client.patch(f"{API}/service/{random.choice(tally.ids)}", json={"description": f"d-{i}"},
                               headers={"Prefer": "respond-async"})
    elif kind == 4:
        r = await client.post("/graphql", json={"query": QUERY})
    else:
        r = await client.post("/graphql", json={"query": CREATE, "variables": {"input": service(i)}})
    tally.ops += 1
    if r.status_code >= 500 or (r.status_code >= 400 and kind != 3):  # a patch may meet a 409 in flight
        tally.errors += 1
        key = f"{r.request.method} {'graphql' if kind > 3 else kind} {r.status_code}"
        tally.failures[key] = tally.failures.get(key, 0) + 1
    if len(tally.ids) > 2000:
        del tally.ids[:1000]


async def traffic(base: str, rate: float, tally: Tally, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        i, started = 0, time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if len(pending) < 32:  # bounded in flight: a slow server slows the load, it does not pile it up
                task = asyncio.create_task(operation(client, i, tally))
                pending.add(task)
                task.add_done_callback(pending.discard)
            i += 1
        await asyncio.gather(*pending, return_exceptions=True)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tmf640-soak-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'soak.db'}"
    port = free_port()
    log = (workdir / "server.log").open("wb")
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", url, "--log-format", "json",
               "--log-level", "warning", "--prune-interval", "60", "--graphql-max-subscriptions", "5"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:  # noqa: ASYNC210
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; log in {workdir / 'server.log'}")
            await asyncio.sleep(0.2)
        tally, stop = Tally(), asyncio.Event()
        ws_url = f"ws://127.0.0.1:{port}/graphql"
        subs = [asyncio.create_task(subscriber(ws_url, tally, stop)) for _ in range(args.subscribers)]
        load = asyncio.create_task(traffic(base, args.rate, tally, stop))
        samples: list[tuple[float, float]] = []
        print(f"soak: {args.minutes} min, {args.rate} ops/s, {args.subscribers} subscribers, {url}")
        print(f"{'t (s)':>6} {'RSS (MB)':>9} {'ops':>7} {'errors':>6} {'events recv':>12} {'subs':>5}")
        started = time.monotonic()
        end = started + args.minutes * 60
        while time.monotonic() < end:
            await asyncio.sleep(min(args.every, max(0.0, end - time.monotonic())))
            t, rss = time.monotonic() - started, rss_mb(server.pid)
            samples.append((t, rss))
            print(f"{t:6.0f} {rss:9.1f} {tally.ops:7d} {tally.errors:6d} {tally.events:12d} {tally.subscribers:5d}",
                  flush=True)
        stop.set()
        await load
        for task in subs:
            task.cancel()
        await asyncio.gather(*subs, return_exceptions=True)
        report(samples, tally, args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def report(samples: list[tuple[float, float]], tally: Tally, args: argparse.Namespace) -> None:
    if len(samples) < 4:
        print("too short to judge RSS")
        return
    half = len(samples) // 2
    first, second = samples[:half], samples[half:]
    growth_first = first[-1][1] - first[0][1]
    growth_second = second[-1][1] - second[0][1]
    per_min = growth_second / max(1e-9, (second[-1][0] - second[0][0]) / 60)
    print(f"RSS: start {samples[0][1]:.1f} MB, peak {max(r for _, r in samples):.1f} MB, end {samples[-1][1]:.1f} MB; "
          f"growth first half {growth_first:+.1f} MB, second half {growth_second:+.1f} MB ({per_min:+.2f} MB/min)")
    levelled = growth_second <= max(2.0, 0.25 * max(growth_first, 0.0))
    if tally.failures:
        print("errors by request:", ", ".join(f"{k}: {n}" for k, n in sorted(tally.failures.items())))
    print(f"RSS levels off: {'yes' if levelled else 'NO'}; {tally.ops} operations "
          f"({tally.ops / (args.minutes * 60):.1f}/s), {tally.errors} errors, {tally.events} events to subscribers")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "ops": tally.ops, "errors": tally.errors,
                                               "events": tally.events, "levelled": levelled}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="operations per second")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
