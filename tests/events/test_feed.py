"""The subscription seam (resolvers.feed): replay from the outbox, then live, with no gap and no duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.rules.errors import EventStreamInterrupted, InvalidQuery, ValidationFailed
from resolvers.rules.patching import Patch
from resolvers.services import ServiceResult
from store.bus import SubscriberDropped
from store.outbox import OutboxEvent
from store.uow import ALL_TENANTS, Store
from tests.events.support import WAIT, event_settings, eventually, running, simple

CTX = RequestContext()


async def outbox(store: Store, after: int = 0) -> list[OutboxEvent]:
    async with store.read(ALL_TENANTS) as uow:
        events: list[OutboxEvent] = await uow.outbox.after(after, 100_000)
    return events


async def writes(res: Resolvers, prefix: str, count: int, parallel: int = 3) -> list[str]:
    """`count` creates and state changes from `parallel` concurrent writers; the monitors of their work."""
    monitors: list[str] = []

    async def writer(w: int) -> None:
        for i in range(count // parallel):
            created = await res.services.create(CTX, simple(f"{prefix}-{w}-{i}"))
            monitors.extend(str(m["id"]) for m in [created.monitor] if m is not None)
            if i % 2:
                patched = await res.services.patch(CTX, created.service["id"], _state("reserved"))
                monitors.extend(str(m["id"]) for m in [patched.monitor] if m is not None)

    await asyncio.gather(*(writer(w) for w in range(parallel)))
    return monitors


def monitor_id(result: ServiceResult) -> str:
    assert result.monitor is not None, result
    return str(result.monitor["id"])


async def settled(res: Resolvers, monitors: list[str]) -> None:
    """Wait (bounded, woken by the engine) until the work of these monitors is done: its events are all in."""
    for monitor_id in monitors:
        monitor = await res.engine.wait(CTX, monitor_id, WAIT)
        assert monitor is not None and monitor["state"] == "Completed", monitor


def _state(state: str) -> Patch:
    return Patch("merge", {"state": state})


async def collect_until(stream: AsyncIterator[OutboxEvent], last_event_id: str) -> list[OutboxEvent]:
    got: list[OutboxEvent] = []

    async def run() -> None:
        async for event in stream:
            got.append(event)
            if event.event_id == last_event_id:
                return

    await asyncio.wait_for(run(), WAIT)
    return got


async def test_replay_then_live_under_concurrent_writes(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        res: Resolvers = r.app.state.resolvers
        await writes(res, "history", 6)
        history = await outbox(res.store)
        start = history[2]

        writer = asyncio.create_task(writes(res, "live", 45))
        await eventually(lambda: _count_above(res.store, history[-1].seq, 10), what="writes under way")
        stream = res.feed.stream(CTX, after=start.event_id)
        first = await asyncio.wait_for(anext(stream), WAIT)  # replay has begun while the writers keep going
        await writer
        marker = (await res.services.create(CTX, simple("marker"))).service["id"]
        everything = await outbox(res.store)
        marker_event = next(e for e in everything if e.resource_id == marker)
        rest = await collect_until(stream, marker_event.event_id)
        await stream.aclose()

        got = [e.seq for e in [first, *rest]]
        expected = [e.seq for e in everything if start.seq < e.seq <= marker_event.seq]
        assert got == expected  # in order, none missing, none twice
        assert len(expected) > 40


async def _count_above(store: Store, seq: int, n: int) -> bool:
    return len(await outbox(store, seq)) >= n


async def test_live_only_stream_starts_now_and_filters(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        res: Resolvers = r.app.state.resolvers
        made = await res.services.create(CTX, simple("before"))
        await settled(res, [monitor_id(made)])  # its work's events too are before the stream
        # A live stream starts after what the bus has fanned out; on PostgreSQL that follows the commits by a
        # NOTIFY, so wait until the bus has caught up with the outbox (the system is quiet).
        end = (await outbox(res.store))[-1].seq
        await eventually(lambda: _fanned_out(res, end), what="the bus catching up with the outbox")
        before = made.service["id"]
        baseline = res.feed.bus.status.subscribers  # the hub dispatcher listens too
        stream = res.feed.stream(CTX, query="eventType=ServiceStateChangeEvent")
        pending = asyncio.create_task(anext(stream))
        await eventually(lambda: _subscribers(res, baseline + 1), what="the subscription")
        mark = (await outbox(res.store))[-1].seq
        reserved = await res.services.patch(CTX, before, _state("reserved"))
        after = await res.services.create(CTX, simple("after"))
        created = after.service["id"]
        activated = await res.services.patch(CTX, created, _state("active"))
        await settled(res, [monitor_id(reserved), monitor_id(after), monitor_id(activated)])
        expected = [e for e in await outbox(res.store, mark) if e.event_type == "ServiceStateChangeEvent"]
        events = [await asyncio.wait_for(pending, WAIT)]
        events += [await asyncio.wait_for(anext(stream), WAIT) for _ in expected[1:]]
        await stream.aclose()
        assert [e.seq for e in events] == [e.seq for e in expected]  # nothing from before, only state changes
        reached = [(e.resource_id, e.payload["event"]["service"]["state"]) for e in events]
        # the two services' work runs side by side: each one's own changes in order
        assert [state for sid, state in reached if sid == before] == ["reserved"]
        assert [state for sid, state in reached if sid == created][-1] == "active"
        assert res.feed.bus.status.subscribers == baseline  # closing the stream unsubscribed it


async def _fanned_out(res: Resolvers, seq: int) -> bool:
    return res.feed.bus.high_water >= seq


async def _subscribers(res: Resolvers, n: int) -> bool:
    return res.feed.bus.status.subscribers >= n


async def test_a_slow_consumer_is_dropped_by_the_bus_and_catches_up_from_the_outbox(database_url: str) -> None:
    async with running(event_settings(database_url, bus_queue_size=2)) as r:
        res: Resolvers = r.app.state.resolvers
        # Writes return at once and their work adds events later: each phase waits for that work to be done.
        await settled(res, [monitor_id(await res.services.create(CTX, simple("start")))])
        start = (await outbox(res.store))[-1]
        baseline = res.feed.bus.status.subscribers
        stream = res.feed.stream(CTX, after=start.event_id)
        pending = asyncio.create_task(anext(stream))
        await eventually(lambda: _subscribers(res, baseline + 1), what="the subscription")
        first_write = await res.services.create(CTX, simple("first"))
        first = await asyncio.wait_for(pending, WAIT)
        assert first.resource_id == first_write.service["id"]

        burst = await writes(res, "burst", 30)  # the consumer reads nothing meanwhile: far beyond its queue of 2
        await settled(res, [monitor_id(first_write), *burst])
        await eventually(lambda: _dropped(res), what="the bus dropping the slow subscriber")
        last = (await outbox(res.store))[-1]
        rest = await collect_until(stream, last.event_id)
        await stream.aclose()
        assert [e.seq for e in [first, *rest]] == [e.seq for e in await outbox(res.store, start.seq)]


async def _dropped(res: Resolvers) -> bool:
    return res.feed.bus.status.dropped >= 1


async def test_bus_overflow_drops_only_the_slow_subscriber(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        res: Resolvers = r.app.state.resolvers
        bus = res.feed.bus
        baseline = bus.status.subscribers
        async with bus.subscribe(queue_size=3) as slow, bus.subscribe(queue_size=100) as fast:
            await writes(res, "w", 12, parallel=1)
            expected = [e.seq for e in await outbox(res.store)]
            got = [(await asyncio.wait_for(fast.get(), WAIT)).seq for _ in expected]
            assert got == expected  # the stalled subscriber held nobody up
            drained = [(await slow.get()).seq for _ in range(3)]
            assert drained == expected[:3]
            with pytest.raises(SubscriberDropped) as raised:
                await asyncio.wait_for(slow.get(), WAIT)
            assert raised.value.reason == "overflow"
        assert bus.status.dropped == 1 and bus.status.subscribers == baseline


async def test_bad_arguments_fail_on_first_iteration(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        res: Resolvers = r.app.state.resolvers
        with pytest.raises(ValidationFailed, match="after"):
            await anext(res.feed.stream(CTX, after="no-such-event"))
        with pytest.raises(InvalidQuery, match="state"):
            await anext(res.feed.stream(CTX, query="state=active"))


async def test_without_a_running_bus_the_stream_says_so(resolvers: Resolvers) -> None:
    with pytest.raises(EventStreamInterrupted, match="not running"):
        await anext(resolvers.feed.stream(CTX))
