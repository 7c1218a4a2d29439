"""The outbox relay: one task per process publishing committed outbox rows to the bus, in seq order.

It wakes when this process commits events (`Store.on_events_committed`) and, as a safety net, every
`poll_interval` seconds: that poll is how rows committed by another process whose own relay died before
publishing still reach this process's subscribers. Reading needs no lock: seq order is commit order.

The cursor starts at the end of the outbox when the process starts. Nothing earlier is lost by that: the
bus only serves live subscribers, who replay older events from the outbox (resolvers.feed), and the hub
dispatcher keeps its own cursors in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from store.bus import Bus
from store.uow import ALL_TENANTS, Store

log = logging.getLogger("tmf640.relay")

STOP_GRACE = 5.0


@dataclass(frozen=True)
class RelayStatus:
    cursor: int
    healthy: bool
    error: str | None


class Relay:
    def __init__(self, store: Store, bus: Bus, *, poll_interval: float = 1.0, batch: int = 500) -> None:
        self.store = store
        self.bus = bus
        self.poll_interval = poll_interval
        self.batch = batch
        self.cursor = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: str | None = None
        self._stopping = False

    @property
    def status(self) -> RelayStatus:
        running = self._task is not None and not self._task.done()
        return RelayStatus(self.cursor, running and self._error is None, self._error)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        async with self.store.read(ALL_TENANTS) as uow:
            self.cursor = await uow.outbox.last_seq()
        # What was committed before the process started counts as fanned out: live subscriptions start after it
        # without reading the outbox (resolvers.feed).
        self.bus.high_water = max(self.bus.high_water, self.cursor)
        self.store.on_events_committed(self.wake)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="tmf640-outbox-relay")

    async def stop(self) -> None:
        """Let the loop finish its round (no query is cut off mid-flight), cancelling only after `STOP_GRACE`."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            _done, late = await asyncio.wait({self._task}, timeout=STOP_GRACE)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None

    async def publish_pending(self) -> int:
        """Publish every committed event after the cursor; returns how many were published."""
        published = 0
        while True:
            start = max(self.cursor, self.bus.high_water)
            async with self.store.read(ALL_TENANTS) as uow:
                events = await uow.outbox.after(start, self.batch)
            if not events:
                return published
            await self.bus.publish(events)
            self.cursor = events[-1].seq
            published += len(events)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):  # not wait_for: it can swallow a cancel on 3.11
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.publish_pending()
                if self._error is not None:
                    log.info("outbox relay recovered")
                self._error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged and visible in the status; retried at the next wake or poll
                self._error = f"{type(exc).__name__}: {exc}"
                log.error("outbox relay failed at cursor %s: %s", self.cursor, self._error, exc_info=exc)
