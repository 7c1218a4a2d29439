"""The `subscribers` figure: thousands of graphql-transport-ws subscribers against one `tmf640 serve` (SQLite).

Client processes (bench.wsclient: one asyncio Protocol per socket, so that 5,000 sockets cost the client little)
open their share of the subscriptions in a burst: connect, `connection_init`, wait for `connection_ack`,
`subscribe`. Any refused connection, `error` message or early close counts as an error. Once the server counts
every subscription as running, one PATCH changes the service's state; each subscriber notes when its `next`
arrives. Figures: errors; p99 delivery latency from the commit the event records (its eventTime) to its arrival,
every subscriber having to receive it (and from the PATCH being sent, the activation's work included); the
server's RSS.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.servers import API, ROOT, free_port, process, sqlite_url
from bench.wsclient import Subscriber

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


async def _client(port: int, documents: list[str], pipe: Connection) -> None:
    """Open a subscriber per document (at most HANDSHAKES_AT_ONCE opening at once); report; wait for the event."""
    loop = asyncio.get_running_loop()
    opened, errors, arrived = [0], [], []  # type: ignore[var-annotated]
    subscribers: list[Subscriber] = []
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    def on_open() -> None:
        opened[0] += 1

    def on_event(at: float, message: dict[str, Any]) -> None:
        arrived.append((at, _committed(message)))

    async def connect(document: str) -> None:
        async with gate:
            try:
                _, sub = await loop.create_connection(
                    lambda: Subscriber("127.0.0.1", port, "/graphql", document, on_open, on_event, errors.append),
                    "127.0.0.1", port)
            except OSError as exc:
                errors.append(f"connect: {exc}")
                return
            subscribers.append(sub)
            async with asyncio.timeout(DEADLINE):
                await sub.ready

    await asyncio.gather(*(connect(d) for d in documents), return_exceptions=True)
    pipe.send(("opened", opened[0], errors[:5], len(errors)))
    deadline = time.monotonic() + DEADLINE
    while len(arrived) + len(errors) < len(documents) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # counting this process's arrivals, bounded by the deadline
    pipe.send(("done", arrived, errors[:5], len(errors)))
    for sub in subscribers:
        sub.close()
    await asyncio.sleep(0.5)  # let the close frames go out


def _client_process(port: int, documents: list[str], pipe: Connection) -> None:
    raise_file_limit()
    asyncio.run(_client(port, documents, pipe))


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
    # every bench socket comes from 127.0.0.1: the per-address WebSocket cap must admit them all
    env = {"TMF640_LOG_LEVEL": "warning", "TMF640_GRAPHQL_MAX_WS_PER_CLIENT": str(n + 100)}
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
            proc = ctx.Process(target=_client_process, args=(port, share, theirs))
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        opened, opening_errors, samples = 0, 0, list[str]()
        for pipe in pipes:
            _tag, count, sample, failed = pipe.recv()
            opened, opening_errors, samples = opened + count, opening_errors + failed, samples + sample
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
        errors = 0  # each process reports every error of its sockets so far, opening included
        for pipe in pipes:
            _tag, times, sample, failed = pipe.recv()
            arrived += times
            errors, samples = errors + failed, samples + sample
        for proc in procs:
            proc.join(30)
        rss, peak = rss_mb(server.pid)
    latencies = sorted(t - committed for t, committed in arrived)  # from the commit to the subscriber
    from_patch = sorted(t - sent for t, _ in arrived)  # from the PATCH being sent (the activation's work included)
    return {"subscribers": n, "opened": opened, "opening_errors": opening_errors, "errors": errors,
            "error_samples": samples[:5],
            "delivered": len(arrived), "running_before_patch": running, "open_s": open_s,
            "patch_status": patched.status_code, "p50_s": _pct(latencies, 0.5), "p99_s": _pct(latencies, 0.99),
            "max_s": latencies[-1] if latencies else None, "from_patch_p99_s": _pct(from_patch, 0.99),
            "rss_mb": rss, "rss_peak_mb": peak}


def _pct(values: list[float], q: float) -> float:
    return values[max(0, int(len(values) * q + 0.5) - 1)] if values else float("nan")


def subscribers(tmp: Path, quick: bool) -> dict[str, Any]:
    """5,000 (quick: 500) subscribers in a burst, one state change delivered to all."""
    n, clients = (500, 2) if quick else (5000, 2)
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
