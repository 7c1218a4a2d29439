"""Several server instances on one PostgreSQL: shared events over LISTEN/NOTIFY, one delivery per hub event."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.rules.errors import EventStreamInterrupted
from store.bus import SubscriberDropped
from store.bus_postgres import APPLICATION_NAME
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS
from tests.events.support import API, WAIT, Running, event_settings, eventually, listening, running, simple

CTX = RequestContext()
ASYNC = {"Prefer": "respond-async"}  # answered at once with the Monitor of the work


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share events only through PostgreSQL")
    return database_url


async def outbox(r: Running, after: int = 0) -> list[OutboxEvent]:
    async with r.app.state.resolvers.store.read(ALL_TENANTS) as uow:
        events: list[OutboxEvent] = await uow.outbox.after(after, 100_000)
    return events


async def test_a_subscriber_on_one_instance_sees_changes_made_on_the_other(pg_url: str) -> None:
    settings = event_settings(pg_url)
    async with running(settings) as a, running(settings) as b:
        assert a.app.state.events.bus.status.backend == "postgresql"
        async with a.app.state.events.bus.subscribe() as sub:
            created = await b.client.post(f"{API}/service", json=simple("made-on-b"))
            await b.client.patch(f"{API}/service/{created.json()['id']}", json={"state": "reserved"})
            expected = await outbox(b)
            got = [await asyncio.wait_for(sub.get(), WAIT) for _ in expected]
        assert [e.seq for e in got] == [e.seq for e in expected]
        assert got[0].payload["event"]["service"]["name"] == "made-on-b"

        # The resolver-level stream on A too: replay after the first event, then live changes made on B.
        res_a: Resolvers = a.app.state.resolvers
        stream = res_a.feed.stream(CTX, after=expected[0].event_id)
        replayed = [await asyncio.wait_for(anext(stream), WAIT) for _ in expected[1:]]
        assert [e.seq for e in replayed] == [e.seq for e in expected[1:]]
        live = (await b.client.post(f"{API}/service", json=simple("later-on-b"))).json()
        event = await asyncio.wait_for(anext(stream), WAIT)
        await stream.aclose()
        assert event.resource_id == live["id"] and event.event_type == "ServiceCreateEvent"


async def test_a_synchronous_write_is_answered_when_the_other_instance_finishes_its_work(pg_url: str) -> None:
    # A runs no activations and would wait an hour: only B's Monitor events, arriving over the bus, can end
    # its wait within the test's bound.
    waiting = event_settings(pg_url, runner_enabled=False, sync_wait_seconds=3600)
    async with running(event_settings(pg_url)) as b, running(waiting) as a:
        assert b.app.state.resolvers.engine.runner is not None
        async with asyncio.timeout(WAIT * 3):
            created = await a.client.post(f"{API}/service", json=simple("activated-on-b", "active"))
        assert created.status_code == 201, created.text
        assert created.json()["state"] == "active"


async def test_a_hub_listener_gets_each_event_once_from_the_pair(pg_url: str) -> None:
    settings = event_settings(pg_url, hub_poll_interval=0.01)
    async with listening() as listener, running(settings) as a, running(settings) as b:
        registered = await a.client.post(f"{API}/hub", json={"callback": listener.url})
        hub_id = registered.json()["id"]
        start = (await outbox(a))[-1].seq if await outbox(a) else 0

        async def settled(r: Running, monitor_id: str) -> None:
            # The work may run on either instance, and a synchronous write is woken only by its own process's
            # runner: so each write asks for the Monitor at once and the test follows the Monitor instead.
            async def done() -> bool:
                state = (await r.client.get(f"{API}/monitor/{monitor_id}")).json()["state"]
                return bool(state in ("Completed", "InError"))

            await eventually(done, what=f"monitor {monitor_id}")

        async def changes(r: Running, name: str) -> None:
            for i in range(2):
                created = await r.client.post(f"{API}/service", json=simple(f"{name}-{i}"), headers=ASYNC)
                await settled(r, created.json()["id"])
                service_id = created.json()["sourceHref"].rsplit("/", 1)[-1]
                patched = await r.client.patch(f"{API}/service/{service_id}", json={"state": "reserved"},
                                               headers=ASYNC)
                await settled(r, patched.json()["id"])

        # In rounds: between rounds the serving process releases the lease and either instance may claim it,
        # continuing from the cursor the other one left.
        for round_ in range(6):
            await asyncio.gather(changes(a, f"a{round_}"), changes(b, f"b{round_}"))
            so_far = len(await outbox(a, start))
            await listener.wait_for(lambda lis, n=so_far: len(lis.accepted) >= n)  # type: ignore[misc]
        expected = await outbox(a, start)
        # 24 services, each created then designed then reserved by its driver, and the Monitors of 48 writes
        services = [e for e in expected if e.resource_type == "service"]
        assert len([e for e in services if e.event_type == "ServiceCreateEvent"]) == 24
        assert len([e for e in services if e.payload["event"]["service"].get("state") == "reserved"]) == 24
        assert len([e for e in expected if e.event_type == "MonitorCreateEvent"]) == 48

        async def caught_up() -> bool:
            status = (await b.client.get(f"{API}/hub/{hub_id}")).json()
            return bool(status["deliveredUpToSeq"] >= expected[-1].seq)

        await eventually(caught_up, what="the hub cursor")
        assert [e["eventId"] for e in listener.events] == [e.event_id for e in expected]  # once each, in order
        attempts = (await a.client.get(f"{API}/hub/{hub_id}/deliveries")).json()
        assert len(attempts) == len(expected) and all(x["delivered"] for x in attempts)


async def test_a_lost_listen_connection_is_surfaced_and_recovered(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="tmf640.bus")
    async with running(event_settings(pg_url)) as a:
        res: Resolvers = a.app.state.resolvers
        bus = a.app.state.events.bus
        created_first = await res.services.create(CTX, simple("first"))
        assert created_first.monitor is not None
        # its work adds events after the write returns: let it finish, so that nothing is on its way meanwhile
        done = await res.engine.wait(CTX, str(created_first.monitor["id"]), WAIT)
        assert done is not None and done["state"] == "Completed", done
        first = (await outbox(a))[-1]
        stream = res.feed.stream(CTX, after=first.event_id)
        pending = asyncio.create_task(anext(stream))
        async with bus.subscribe() as sub:
            async with res.store.write(ALL_TENANTS) as uow:
                killed = await uow.conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
                ), {"name": APPLICATION_NAME})
                assert killed.scalar_one() == 1
            with pytest.raises(SubscriberDropped) as raised:
                while True:  # the first event may still be on its way to this subscriber; nothing after it
                    assert (await asyncio.wait_for(sub.get(), WAIT)).seq <= first.seq
            assert raised.value.reason == "failure"
        with pytest.raises(EventStreamInterrupted) as interrupted:
            await asyncio.wait_for(pending, WAIT)
        assert "after=" in interrupted.value.message or interrupted.value.last_event_id == first.event_id
        assert any("event bus postgresql failed" in r.getMessage() for r in caplog.records)

        async def healthy() -> bool:
            return (await a.client.get("/health")).status_code == 200

        await eventually(healthy, what="the bus to reconnect")
        async with bus.subscribe() as sub:  # and it carries events again
            created = (await a.client.post(f"{API}/service", json=simple("after-recovery"))).json()
            event = await asyncio.wait_for(sub.get(), WAIT)
        assert event.resource_id == created["id"]
