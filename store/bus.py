"""The event bus: committed outbox events fanned out to in-process subscribers (encode/broadcaster's shape).

One `Bus` per process owns one listener task that pulls what its backend delivers and offers each event to
every subscriber's bounded queue. The backend is chosen by URL (`open_bus`):

- `memory://` (default): one process; the relay's publications go straight to the listener task.
- `postgresql://` / `postgres://`: LISTEN/NOTIFY (store.bus_postgres). A notification carries only a seq;
  each process reads the rows from the outbox, so payload limits never bite and nothing committed is lost.

Slow subscribers: a subscriber whose queue is full when an event arrives is dropped (the others are never
held up). It first receives what is already in its queue, then `SubscriberDropped("overflow")`, and can
resume from the outbox after the last event it saw (resolvers.feed does this by itself).

Failures: when the backend fails (e.g. the LISTEN connection is lost), the failure is logged, shown in
`Bus.status`, every subscriber gets `SubscriberDropped("failure")` and the bus reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from store.db import Database
from store.outbox import OutboxEvent

log = logging.getLogger("tmf640.bus")

RECONNECT_FIRST = 0.1
RECONNECT_CAP = 5.0


class SubscriberDropped(Exception):
    """The subscription ended: `reason` is `overflow` (fell behind), `failure` (the bus failed) or `closed`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"event subscription dropped ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


class BusBackend(ABC):
    """What a transport provides. `next_published` returns committed events in seq order, each at most once."""

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def disconnect(self) -> None: ...

    @abstractmethod
    async def publish(self, events: Sequence[OutboxEvent]) -> None: ...

    @abstractmethod
    async def next_published(self) -> list[OutboxEvent]: ...


class MemoryBackend(BusBackend):
    """One process: publications are handed to the listener task through an in-process queue."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[list[OutboxEvent]] = asyncio.Queue()

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        if events:
            self._queue.put_nowait(list(events))

    async def next_published(self) -> list[OutboxEvent]:
        return await self._queue.get()


class Subscription:
    """One subscriber's bounded queue. Iterate it, or `await get()`; both raise `SubscriberDropped` at the end."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[OutboxEvent] = asyncio.Queue(maxsize=size)
        self._error: SubscriberDropped | None = None
        self._wake = asyncio.Event()

    def offer(self, event: OutboxEvent) -> bool:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        self._wake.set()
        return True

    def drop(self, error: SubscriberDropped) -> None:
        if self._error is None:
            self._error = error
        self._wake.set()

    async def get(self) -> OutboxEvent:
        while True:
            if not self._queue.empty():
                return self._queue.get_nowait()
            if self._error is not None:
                raise self._error
            self._wake.clear()
            await self._wake.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> OutboxEvent:
        return await self.get()


@dataclass(frozen=True)
class BusStatus:
    backend: str
    healthy: bool
    error: str | None
    subscribers: int
    dropped: int
    high_water: int


class Bus:
    """Fan-out of committed events to this process's subscribers; `publish` is for the relay."""

    def __init__(self, backend: BusBackend, *, queue_size: int = 1000, name: str = "memory") -> None:
        self.backend = backend
        self.queue_size = queue_size
        self.name = name
        self.high_water = 0  # highest seq fanned out; the relay does not publish what the bus has already seen
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._error: str | None = None
        self._dropped = 0

    @property
    def status(self) -> BusStatus:
        healthy = self._error is None and self._task is not None and not self._task.done()
        return BusStatus(self.name, healthy, self._error, len(self._subscribers), self._dropped, self.high_water)

    async def start(self) -> None:
        await self.backend.connect()
        self._task = asyncio.create_task(self._listen(), name="tmf640-bus-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop_all(SubscriberDropped("closed", "the server is shutting down"))
        await self.backend.disconnect()

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        await self.backend.publish(events)

    @contextlib.asynccontextmanager
    async def subscribe(self, queue_size: int | None = None) -> AsyncIterator[Subscription]:
        """A subscription receiving every event fanned out from now on, until the block exits."""
        sub = self.attach(queue_size)
        try:
            yield sub
        finally:
            self.detach(sub)

    def attach(self, queue_size: int | None = None) -> Subscription:
        """Subscribe at once (no await between this call and the first event it may receive); `detach` ends it."""
        if self._task is None:
            raise SubscriberDropped("closed", "the event bus is not running")
        if self._error is not None:
            raise SubscriberDropped("failure", self._error)
        sub = Subscription(queue_size or self.queue_size)
        self._subscribers.add(sub)
        return sub

    def detach(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def _fan_out(self, events: Sequence[OutboxEvent]) -> None:
        for event in events:
            if event.seq <= self.high_water:
                continue
            self.high_water = event.seq
            for sub in list(self._subscribers):
                if not sub.offer(event):
                    self._subscribers.discard(sub)
                    self._dropped += 1
                    sub.drop(SubscriberDropped("overflow", f"more than {sub._queue.maxsize} events behind"))

    def _drop_all(self, error: SubscriberDropped) -> None:
        for sub in list(self._subscribers):
            sub.drop(error)
        self._subscribers.clear()

    async def _listen(self) -> None:
        while True:
            try:
                events = await self.backend.next_published()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._recover(exc)
                continue
            self._fan_out(events)

    async def _recover(self, exc: Exception) -> None:
        self._error = f"{type(exc).__name__}: {exc}"
        log.error("event bus %s failed, reconnecting: %s", self.name, self._error, exc_info=exc)
        self._drop_all(SubscriberDropped("failure", self._error))
        delay = RECONNECT_FIRST
        while True:
            with contextlib.suppress(Exception):
                await self.backend.disconnect()
            await asyncio.sleep(delay)  # backoff between reconnection attempts
            try:
                await self.backend.connect()
            except asyncio.CancelledError:
                raise
            except Exception as again:
                self._error = f"{type(again).__name__}: {again}"
                log.warning("event bus %s still failing: %s", self.name, self._error)
                delay = min(delay * 2, RECONNECT_CAP)
                continue
            log.info("event bus %s reconnected", self.name)
            self._error = None
            return


def open_bus(url: str, db: Database, *, queue_size: int = 1000) -> Bus:
    """The bus a URL names: `memory://` or `postgresql://...` (bare `postgresql://` means the database's own)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("memory", ""):
        return Bus(MemoryBackend(), queue_size=queue_size, name="memory")
    if scheme.split("+")[0] in ("postgres", "postgresql"):
        from store.bus_postgres import PostgresBackend

        return Bus(PostgresBackend.from_url(url, db), queue_size=queue_size, name="postgresql")
    raise ValueError(f"unknown event bus URL {url!r}: use memory:// or postgresql://")
