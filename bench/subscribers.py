"""The `subscribers` figure: thousands of graphql-transport-ws subscribers against one `tmf640 serve` (SQLite).

Client processes (a lean asyncio `websockets` client each, so that 5,000 sockets stay cheap) open their share of
the subscriptions in a burst: connect, `connection_init`, wait for `connection_ack`, `subscribe`. Any refused
connection, `error` message or early close counts as an error. Once the server counts every subscription as
running, one PATCH changes the service's state; each subscriber notes when its `next` arrives. Figures: errors,
p99 delivery latency from the PATCH being sent (every subscriber must receive it), the server's RSS.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.servers import API, ROOT, free_port, process, sqlite_url

SERVICE = "bench-sub-1"
# A few distinct selections, as portals in the wild send (each rendered once per event, shared by its subscribers).
# Every one selects eventTime: delivery latency is measured from the commit the event records.
DOCUMENTS = [
    'subscription { serviceChanged(ids: ["%s"], eventTypes: [ServiceStateChangeEvent]) '
    "{ eventId eventTime eventType service { id state etag } } }",
    'subscription { serviceChanged(ids: ["%s"], eventTypes: [ServiceStateChangeEvent]) '
    "{ eventId eventTime service { id name state } } }",
    'subscription { serviceChanged(ids: ["%s"], eventTypes: [ServiceStateChangeEvent]) '
    "{ eventTime eventId fieldPath service { id state } } }",
    'subscription { events(query: "eventType=ServiceStateChangeEvent&event.service.id=%s") '
    "{ eventId eventTime eventType service { id state } } }",
]
HANDSHAKES_AT_ONCE = 200  # per client process: opening handshakes in flight (the rest wait their turn)
DEADLINE = 300.0


def raise_file_limit() -> int:
    """The soft limit of open files raised to the hard one (5,000 sockets each side); returns it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _committed(message: dict[str, Any]) -> float:
    """When the event's change was committed (its eventTime), as a Unix time."""
    from datetime import datetime

    data = next(iter(message["payload"]["data"].values()))
    return datetime.fromisoformat(data["eventTime"].replace("Z", "+00:00")).timestamp()


async def _one(url: str, document: str, opened: list[int], errors: list[str], arrived: list[tuple[float, float]],
               gate: asyncio.Semaphore, finished: asyncio.Event) -> None:
    import websockets

    try:
        async with gate:
            ws = await websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
                                          open_timeout=DEADLINE, ping_interval=None, max_queue=16,
                                          compression=None)
            await ws.send('{"type":"connection_init"}')
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        opened[0] += 1
        async with ws:
            while True:
                message = json.loads(await ws.recv())
                if message.get("type") == "next" and "errors" not in message["payload"]:
                    arrived.append((time.time(), _committed(message)))
                    await finished.wait()  # closing only once every socket of this process has its event
                    return
                raise RuntimeError(f"unexpected message: {str(message)[:300]}")
    except Exception as exc:  # counted and reported: any error fails the figure
        errors.append(f"{type(exc).__name__}: {exc}"[:300])


async def _client(url: str, documents: list[str], pipe: Connection) -> None:
    opened, errors, arrived = [0], [], []  # type: ignore[var-annotated]
    gate, finished = asyncio.Semaphore(HANDSHAKES_AT_ONCE), asyncio.Event()
    tasks = [asyncio.create_task(_one(url, d, opened, errors, arrived, gate, finished)) for d in documents]
    deadline = time.monotonic() + DEADLINE
    while opened[0] + len(errors) < len(documents) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # counting local tasks' progress, bounded by the deadline
    pipe.send(("opened", opened[0], errors[:5], len(errors)))
    deadline = time.monotonic() + DEADLINE
    while len(arrived) + len(errors) < len(documents) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # counting local tasks' progress, bounded by the deadline
    finished.set()
    await asyncio.wait(tasks, timeout=60)
    pipe.send(("done", arrived, errors[:5], len(errors)))
    for task in tasks:
        task.cancel()


def _client_process(url: str, documents: list[str], pipe: Connection) -> None:
    raise_file_limit()
    asyncio.run(_client(url, documents, pipe))


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of `pid` now and at its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _running(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith("tmf640_graphql_subscribers"):
            return float(line.split()[1])
    return float("nan")


def measure(tmp: Path, n: int, clients: int, tree: Path = ROOT) -> dict[str, Any]:
    raise_file_limit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", sqlite_url(tmp / "s.db")]
    env = {"TMF640_LOG_LEVEL": "warning"}
    with process(command, f"{base}/health", tmp / "server.log", env, cwd=tree) as server:
        with httpx.Client(timeout=60) as http:
            http.post(f"{base}{API}/service", json={"id": SERVICE, "name": "subscribed", "state": "designed",
                                                    "serviceSpecification": {"name": "s"}}).raise_for_status()
        documents = [DOCUMENTS[i % len(DOCUMENTS)] % SERVICE for i in range(n)]
        shares = [documents[i::clients] for i in range(clients)]
        ctx = mp.get_context("fork")
        pipes, procs = [], []
        started = time.perf_counter()
        for share in shares:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_client_process, args=(f"ws://127.0.0.1:{port}/graphql", share, theirs))
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        opened, errors, samples = 0, 0, []
        for pipe in pipes:
            _tag, count, sample, failed = pipe.recv()
            opened, errors, samples = opened + count, errors + failed, samples + sample
        open_s = time.perf_counter() - started
        deadline = time.monotonic() + 60
        while _running(base) < opened and time.monotonic() < deadline:
            time.sleep(0.1)  # the server takes the last subscribe messages; bounded by the deadline
        running = _running(base)
        if running != running:  # a server without the gauge (an older tree): give it a moment instead
            time.sleep(5)
        sent = time.time()
        with httpx.Client(timeout=120) as http:
            patched = http.patch(f"{base}{API}/service/{SERVICE}", json={"state": "reserved"})
        arrived: list[tuple[float, float]] = []
        for pipe in pipes:
            _tag, times, sample, failed = pipe.recv()
            arrived += times
            errors, samples = errors + failed, samples + sample
        for proc in procs:
            proc.join(30)
        rss, peak = rss_mb(server.pid)
    latencies = sorted(t - committed for t, committed in arrived)  # from the commit to the subscriber
    from_patch = sorted(t - sent for t, _ in arrived)  # from the PATCH being sent (the activation's work included)
    return {"subscribers": n, "opened": opened, "errors": errors, "error_samples": samples[:5],
            "delivered": len(arrived), "running_before_patch": running, "open_s": open_s,
            "patch_status": patched.status_code, "p50_s": _pct(latencies, 0.5), "p99_s": _pct(latencies, 0.99),
            "max_s": latencies[-1] if latencies else None, "from_patch_p99_s": _pct(from_patch, 0.99),
            "rss_mb": rss, "rss_peak_mb": peak}


def _pct(values: list[float], q: float) -> float:
    return values[max(0, int(len(values) * q + 0.5) - 1)] if values else float("nan")


def subscribers(tmp: Path, quick: bool) -> dict[str, Any]:
    """5,000 (quick: 500) subscribers in a burst, one state change delivered to all."""
    n, clients = (500, 2) if quick else (5000, 4)
    d = measure(tmp, n, clients)
    ok = d["errors"] == 0 and d["delivered"] == n
    return {
        "figure": f"{n:,} graphql-transport-ws subscribers, one change delivered to all",
        "target": "0 errors; p99 < 1 s; server RSS < 1 GB",
        "value": d["p99_s"],
        "measured": f"{d['errors']} errors, {d['delivered']:,}/{n:,} delivered, p99 {d['p99_s']:.3f} s from "
                    f"commit (p50 {d['p50_s']:.3f} s; p99 {d['from_patch_p99_s']:.3f} s from the PATCH), "
                    f"RSS {d['rss_mb']:.0f} MB (peak {d['rss_peak_mb']:.0f}), opened in {d['open_s']:.1f} s"
                    f"{'' if ok else ' FAILED'}",
        "details": d,
    }
