"""Two real server processes on one PostgreSQL database (issue 5): a GraphQL subscriber on one receives the
events of a write made on the other, and a hub listener registered on one receives each event once from the pair.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store.db import Database
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS, UnitOfWork
from tests.events.support import WAIT, bundle, free_port, listening
from tests.events.ws import Subscriber, subscribed, until_equal

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
API = "/tmf-api/serviceActivationAndConfiguration/v4"
EVENTS = "subscription { events { eventId eventType correlationId } }"


class Process:
    """`python -m app serve` on a free port, its log in the test's folder."""

    def __init__(self, name: str, database_url: str, tmp: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "TMF640_DATABASE_URL": database_url,
            "TMF640_BUS_URL": "postgresql://",  # LISTEN/NOTIFY on the database's own server
            "TMF640_BUS_POLL_INTERVAL": "0.2",
            "TMF640_HUB_POLL_INTERVAL": "0.2",
            "TMF640_HUB_RETRY_BASE": "0.1",
            "TMF640_HUB_LEASE": "5",
            "TMF640_HUB_TIMEOUT": "2",
            "TMF640_RUNNER_POLL_SECONDS": "0.2",
            "TMF640_HUB_CALLBACK_ALLOW": '["127.0.0.0/8", "::1/128"]',  # the test's own listener (docs/security.md)
        }
        self.log = tmp / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling an external process against a deadline
        raise AssertionError(f"server did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share one PostgreSQL database; SQLite serves one process")
    first = Process("a", database_url, tmp_path)
    second = Process("b", database_url, tmp_path)
    try:
        first.wait_healthy()
        second.wait_healthy()
        yield first, second
    finally:
        first.stop()
        second.stop()


async def outbox(database_url: str) -> list[OutboxEvent]:
    db = Database(database_url)
    try:
        async with db.read() as conn:
            out: list[OutboxEvent] = []
            after = 0
            while batch := await UnitOfWork(conn, ALL_TENANTS).outbox.after(after, 500):
                out.extend(batch)
                after = batch[-1].seq
            return out
    finally:
        await db.dispose()


async def live(sub: Subscriber, http: httpx.AsyncClient, server: Process) -> None:
    """Return once `sub` receives events: commit a warm-up change on `server` until one of its events arrives.

    A live subscription receives what is fanned out after it is attached on the server, and the client cannot see
    that moment (the WebSocket may not even be accepted yet, the GraphQL endpoint being built): a warm-up committed
    before it is never received, so another is committed until one is."""
    deadline = time.monotonic() + WAIT
    while True:
        warm = await http.post(f"{server.url}{API}/service", json={
            "name": "warm-up", "state": "designed", "serviceSpecification": {"name": "s"}})
        assert warm.status_code in (201, 202), warm.text
        try:
            await sub.wait_for(1, within=1.0)
            return
        except TimeoutError:
            assert time.monotonic() < deadline, f"no warm-up event reached the subscriber in {WAIT} s"


async def test_subscriber_and_hub_see_the_other_processes_writes(
    pair: tuple[Process, Process], database_url: str
) -> None:
    a, b = pair
    async with listening() as listener:
        async with httpx.AsyncClient(timeout=WAIT) as http:
            hub = await http.post(f"{a.url}{API}/hub", json={"callback": listener.url})
            assert hub.status_code == 201, hub.text
            async with subscribed(a.url.replace("http", "ws") + "/graphql", EVENTS) as sub:
                await live(sub, http, a)
                correlation = "two-processes-1"
                created = await http.post(f"{b.url}{API}/service", json=bundle("pair", members=3),
                                          headers={"X-Correlation-ID": correlation})
                assert created.status_code in (201, 202), created.text
                mine = [e for e in await outbox(database_url) if e.correlation_id == correlation]
                assert mine, "the write on B committed events"

                async def written_on_b() -> list[str]:  # B's activation may still be adding events
                    return [e.event_id for e in await outbox(database_url) if e.correlation_id == correlation]

                await until_equal(sub, written_on_b, keep=lambda e: e["correlationId"] == correlation)
        every = [e.event_id for e in await outbox(database_url)]
        await listener.wait_for(lambda lst: len(lst.events) >= len(every))
        ids = [ev["eventId"] for ev in listener.events]
        assert ids[: len(every)] == every, "every event, in outbox order"
        assert len(ids) == len(set(ids)), "each event once from the pair"
