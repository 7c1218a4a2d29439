"""A stopping server leaves nothing behind: no worker still writing once its part has stopped, and no database
connection open once the database is closed (asyncpg would warn of it whenever the garbage collector found it,
in whatever ran next)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from resolvers.workers.dispatcher import Dispatcher
from resolvers.workers.runner import Runner
from store.activation_repo import ActivationRepository
from store.db import Database
from store.hubs import HubRepository
from store.uow import ALL_TENANTS
from tests.driver_service import DriverService
from tests.engine_support import MakeHarness, harness_factory, service
from tests.events.support import API, WAIT, event_settings, listening, running, simple
from tests.events.test_hub_delivery import register
from tests.test_fallout import driver, http_harness, until

__all__ = ["driver", "harness_factory"]


def _pending_hub_workers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks()
            if t.get_name().startswith("tmf640-hub-") and t.get_name() != "tmf640-hub-dispatcher" and not t.done()]


async def _settled(dispatcher: Dispatcher) -> None:
    """Until stop() is waiting for the dispatcher's tasks: its first await (the bus watch) is over, and the
    scheduler ran it on (a task woken by a finished one runs before a task that yields after)."""
    for _ in range(10_000):
        if dispatcher._watch is None or dispatcher._watch.done():
            break
        await asyncio.sleep(0)
    for _ in range(3):
        await asyncio.sleep(0)


async def test_stopping_the_dispatcher_waits_for_a_listener_it_claims_meanwhile(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    claiming, go_on = asyncio.Event(), asyncio.Event()
    claim = HubRepository.claim

    async def held_claim(self: HubRepository, *args: Any) -> bool:
        won = await claim(self, *args)
        claiming.set()
        await go_on.wait()  # stop() is called while the claim is on its way
        return won

    async with listening() as listener, running(event_settings(database_url)) as r:
        dispatcher: Dispatcher = r.app.state.events.dispatcher
        hub_id = await register(r.client, listener.url)
        monkeypatch.setattr(HubRepository, "claim", held_claim)
        # answered at once: its work waits behind the held claim on SQLite (one writer at a time)
        created = await r.client.post(f"{API}/service", json=simple("claimed-while-stopping"),
                                      headers={"Prefer": "respond-async"})
        assert created.status_code == 202, created.text
        await asyncio.wait_for(claiming.wait(), WAIT)
        stopping = asyncio.create_task(dispatcher.stop())
        await _settled(dispatcher)
        go_on.set()  # the claim is won now, after stop() began: its worker starts, sees the stop, lets go
        await asyncio.wait_for(stopping, WAIT)
        assert _pending_hub_workers() == []  # nothing of it still at work on the database
        async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
            hub = await uow.hubs.get(hub_id)
        assert hub is not None and hub.lease_owner is None  # released before stop() returned


async def test_closing_the_database_closes_a_connection_still_in_use(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("asyncpg's connections: SQLite's are files of this process")
    db = Database(database_url)
    conn = await db.engine.connect()
    await conn.exec_driver_sql("SELECT 1")
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None and not raw.is_closed()
    with caplog.at_level(logging.WARNING, logger="tmf640.db"):
        await db.dispose()
    assert raw.is_closed()
    assert [(r.getMessage(), getattr(r, "event", None), getattr(r, "count", None)) for r in caplog.records] == [
        ("1 database connection(s) still in use when the database was closed: terminated", "connections_left_open", 1)]
    with pytest.raises(DBAPIError, match="connection is closed"):
        await conn.close()  # its holder, letting go later, finds it closed: nothing is left open


async def test_stopping_the_runner_waits_for_an_execution_letting_its_lease_go(
        harness_factory: MakeHarness, driver: DriverService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work parked for an operator leaves the runner's table of running work, then releases its lease: stop()
    waits for that release too. (On SQLite the held release also holds the one write lock, and the old stop()
    happened to wait behind it: there it passed anyway; PostgreSQL shows the difference.)"""
    h = await http_harness(harness_factory, driver)
    runner: Runner = h.resolvers.engine.runner
    releasing, go_on, released = asyncio.Event(), asyncio.Event(), asyncio.Event()
    release = ActivationRepository.release

    async def held_release(self: ActivationRepository, ids: Any, owner: str) -> None:
        wanted = list(ids)
        if wanted and not releasing.is_set():
            releasing.set()
            await go_on.wait()
        await release(self, wanted, owner)
        released.set()

    monkeypatch.setattr(ActivationRepository, "release", held_release)
    driver.down = True
    accepted = await h.post({"id": "parked", **service("parked")}, asynchronous=True)
    await until(h, accepted.json()["id"], lambda m: m.get("held") is True, "held")
    await asyncio.wait_for(releasing.wait(), WAIT)
    stopping = asyncio.create_task(runner.stop())
    for _ in range(10_000):  # until stop() has stopped the claiming loop and waits for what is left
        if runner._tasks and all(t.done() for t in runner._tasks):
            break
        await asyncio.sleep(0)
    for _ in range(3):
        await asyncio.sleep(0)
    go_on.set()
    await asyncio.wait_for(stopping, WAIT)
    assert released.is_set()  # the lease was let go before stop() returned, not after the database closed
