"""Retention: what is expired is pruned; what is still needed (unfinished work, events a listener has not
passed, each service's newest revision, recent rows) is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from resolvers.activation.drivers.simulated import SimulatedDriver
from resolvers.context import RequestContext
from resolvers.workers.pruner import Pruner, RetentionConfig
from store.tables import activation, activation_step, event_outbox, hub_delivery, monitor, service_revision
from store.uow import ALL_TENANTS, Store
from tests.events.support import API, Running, event_settings, eventually, listening, running

LATER = timedelta(days=400)  # past every default cutoff


async def counts(store: Store) -> dict[str, int]:
    out = {}
    async with store.read(ALL_TENANTS) as uow:
        for name, table in (("outbox", event_outbox), ("deliveries", hub_delivery), ("revisions", service_revision),
                            ("activations", activation), ("steps", activation_step), ("monitors", monitor)):
            out[name] = int((await uow.conn.execute(select(func.count()).select_from(table))).scalar_one())
    return out


async def create(client: httpx.AsyncClient, name: str, **extra: Any) -> dict[str, Any]:
    answer = await client.post(f"{API}/service", json={
        "name": name, "state": "active", "serviceSpecification": {"name": "spec"}, **extra})
    assert answer.status_code in (201, 202), answer.text
    body: dict[str, Any] = answer.json()
    return body


def driver(r: Running) -> SimulatedDriver:
    found = r.app.state.resolvers.engine.drivers.get("simulated")
    assert isinstance(found, SimulatedDriver)
    return found


async def test_nothing_recent_is_pruned(database_url: str) -> None:
    async with listening() as listener, running(event_settings(database_url)) as r:
        hub = (await r.client.post(f"{API}/hub", json={"callback": listener.url})).json()["id"]
        for i in range(3):
            await create(r.client, f"s-{i}")
        await eventually(lambda: caught_up(r, hub), what="the listener to receive everything")
        store: Store = r.app.state.resolvers.store
        before = await counts(store)
        assert await Pruner(store, RetentionConfig(batch=2)).prune() == dict.fromkeys(
            ("outbox", "deliveries", "revisions", "activations", "monitors"), 0)
        assert await counts(store) == before


async def test_expired_rows_go_and_what_is_still_needed_stays(database_url: str) -> None:
    async with listening() as listener, running(event_settings(database_url)) as r:
        store: Store = r.app.state.resolvers.store
        hub = (await r.client.post(f"{API}/hub", json={"callback": listener.url})).json()["id"]
        done = [await create(r.client, f"done-{i}") for i in range(3)]
        patched = await r.client.patch(f"{API}/service/{done[0]['id']}", json={"description": "v2"})
        assert patched.status_code == 200, patched.text
        await eventually(lambda: caught_up(r, hub), what="the listener to pass every event so far")
        await listener.stop()  # from here on the listener is down: its cursor holds the outbox back
        gate = driver(r).hold(service_id="busy")
        busy = await r.client.post(f"{API}/service", headers={"Prefer": "respond-async"}, json={
            "id": "busy", "name": "busy", "state": "active", "serviceSpecification": {"name": "spec"}})
        assert busy.status_code == 202, busy.text
        await gate.entered.wait()
        async with store.read(ALL_TENANTS) as uow:
            held_back = [e.seq for e in await uow.outbox.after(await cursor(r, hub), 1000)]
        assert held_back, "the unfinished work has events the listener has not received"

        before = await counts(store)
        pruned = await Pruner(store, RetentionConfig(batch=2)).prune(now=datetime.now(UTC) + LATER)
        left = await counts(store)

        assert before["activations"] >= 4 and before["monitors"] >= 4  # done-0..2, the patch, busy
        assert left["activations"] == 1 and pruned["activations"] == before["activations"] - 1  # busy's stays
        assert left["steps"] == 1
        assert left["monitors"] == 1 and pruned["monitors"] == before["monitors"] - 1
        async with store.read(ALL_TENANTS) as uow:
            kept_monitor = (await uow.conn.execute(select(monitor.c.id))).scalar_one()
            revisions = (await uow.conn.execute(
                select(service_revision.c.service_id, func.count()).group_by(service_revision.c.service_id))).all()
            outbox = [e.seq for e in await uow.outbox.after(0, 10_000)]
        assert kept_monitor == busy.json()["id"]
        assert all(n == 1 for _, n in revisions)  # each service keeps its newest revision
        assert {sid for sid, _ in revisions} == {*(d["id"] for d in done), "busy"}
        assert outbox == held_back  # everything the listener passed went, nothing it has not
        assert pruned["deliveries"] >= before["deliveries"] > 0  # (failed attempts on busy's events go on)

        gate.release()
        final = await r.app.state.resolvers.engine.wait(RequestContext(), busy.json()["id"], 30.0)
        assert final["state"] == "Completed"
        # Unregistering the listener frees the outbox; the finished work is expired in a year's time
        assert (await r.client.delete(f"{API}/hub/{hub}")).status_code == 204
        await Pruner(store, RetentionConfig(batch=2)).prune(now=datetime.now(UTC) + LATER)
        assert await counts(store) == {"outbox": 0, "deliveries": 0, "revisions": 4, "activations": 0, "steps": 0,
                                       "monitors": 0}


async def test_zero_keeps_a_kind_for_ever(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        store: Store = r.app.state.resolvers.store
        await create(r.client, "kept")
        before = await counts(store)
        config = RetentionConfig(outbox=0, deliveries=0, revisions=0, activations=0, monitors=0)
        await Pruner(store, config).prune(now=datetime.now(UTC) + LATER)
        assert await counts(store) == before


async def cursor(r: Running, hub: str) -> int:
    async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        row = await uow.hubs.get(hub)
    assert row is not None
    return int(row.cursor)


async def caught_up(r: Running, hub: str) -> bool:
    async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        last = await uow.outbox.last_seq()
    return bool(await cursor(r, hub) == last)
