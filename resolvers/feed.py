"""The event stream behind GraphQL subscriptions: replay from the outbox, then live from the bus.

`EventFeed.stream` is an async iterator of committed events in seq order. A subscription resolver is a thin
async generator over it (`async for event in feed.stream(ctx, after=..., conditions=...): yield ...`).

Why there is no gap and no duplicate: the stream subscribes to the bus *before* it reads the outbox, so an
event is either committed before the read (the replay returns it) or published after the subscription
started (the queue holds it), or both; live events at or below the last seq already handled are skipped.
Publication follows commit and seq order is commit order (store.outbox), so seq only grows.

A live stream (no `after`) reads nothing to start: it begins after the last seq the bus has fanned out
(`Bus.high_water`), so thousands of subscriptions opened at once cost no database connection. Replays read
the outbox in pages of `replay_batch`, each on a connection taken for that page only, and at most
`replay_readers` of them run at once (the others wait their turn): a burst of resuming subscribers queues
here instead of exhausting the connection pool that requests share.

A subscriber too slow for its bounded queue is dropped by the bus; the stream then catches up from the outbox
after the last event it handled and rejoins live, so a slow consumer loses nothing and stalls nobody. When
the bus itself fails, the stream ends with `EventStreamInterrupted`, naming the event id to resume `after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from resolvers import telemetry
from resolvers.context import RequestContext
from resolvers.rules.errors import EventStreamInterrupted, ValidationFailed
from resolvers.rules.matching import matches, parse_event_query
from store.bus import Bus, SubscriberDropped
from store.outbox import OutboxEvent
from store.query_form import Condition
from store.uow import Store, UnitOfWork

FeedEvent = OutboxEvent
Predicate = Callable[[OutboxEvent], bool | Awaitable[bool]]


@dataclass
class EventFeed:
    store: Store
    bus: Bus
    replay_batch: int = 500
    replay_readers: int = 4
    _gate: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    @contextlib.asynccontextmanager
    async def reading(self, scope: str | None) -> AsyncIterator[UnitOfWork]:
        """A read for a subscription (its start or replay), waiting its turn among at most `replay_readers`."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.replay_readers)
        async with self._gate, self.store.read(scope) as uow:
            yield uow

    async def seq_of(self, ctx: RequestContext, event_id: str) -> int:
        """The position of the caller's event `event_id`; ValidationFailed("after") when there is none."""
        seq = None
        if len(event_id) <= 255:
            async with self.reading(ctx.caller.scope) as uow:
                seq = await uow.outbox.seq_of(event_id)
        if seq is None:
            raise ValidationFailed("after", f"no event with id {event_id!r}: give the eventId of an event received")
        return seq

    async def stream(
        self,
        ctx: RequestContext,
        *,
        after: str | None = None,
        query: str | None = None,
        conditions: Sequence[Condition] = (),
        predicate: Predicate | None = None,
        after_seq: int | None = None,
    ) -> AsyncGenerator[FeedEvent, None]:
        """`_stream`, counted in the subscriptions gauge while it runs."""
        telemetry.SUBSCRIPTIONS.inc()
        try:
            start = await self.seq_of(ctx, after) if after is not None and after_seq is None else after_seq
            async with contextlib.aclosing(
                self._stream(ctx, after=after, start=start, query=query, conditions=conditions, predicate=predicate)
            ) as events:
                async for event in events:
                    yield event
        finally:
            telemetry.SUBSCRIPTIONS.dec()

    async def _stream(
        self,
        ctx: RequestContext,
        *,
        after: str | None = None,
        start: int | None = None,
        query: str | None = None,
        conditions: Sequence[Condition] = (),
        predicate: Predicate | None = None,
    ) -> AsyncGenerator[FeedEvent, None]:
        """Events matching every filter given, oldest first: those after `after` (an eventId), then live.

        `query` is a hub-style filter string on the event (`eventType=...&event.service.state=active`),
        `conditions` the same in neutral form, `predicate` anything else (it may be async). Without `after`
        the stream starts after the last event the bus fanned out. `start` is the seq of `after`. A bad
        `query` raises ValidationFailed on the first iteration.
        """
        scope = ctx.caller.scope  # the caller sees its tenant's events only (replayed and live)
        wanted = (*parse_event_query(query), *conditions)
        last = start
        last_yielded = after

        async def keep(event: OutboxEvent) -> bool:
            if scope is not None and event.tenant != scope:
                return False
            if not matches(wanted, event.payload):
                return False
            if predicate is None:
                return True
            verdict = predicate(event)
            return bool(await verdict) if inspect.isawaitable(verdict) else bool(verdict)

        while True:
            try:
                async with self.bus.subscribe() as sub:
                    if last is None:  # live only: everything fanned out from this moment on, no read
                        last = self.bus.high_water
                    while True:  # replay
                        batch = await self._after(scope, last)
                        for event in batch:
                            last = event.seq
                            if await keep(event):
                                last_yielded = event.event_id
                                yield event
                        if len(batch) < self.replay_batch:
                            break
                    while True:  # live
                        event = await sub.get()
                        if event.seq <= last:
                            continue
                        last = event.seq
                        if await keep(event):
                            last_yielded = event.event_id
                            yield event
            except SubscriberDropped as exc:
                if exc.reason == "overflow":
                    continue  # catch up from the outbox after `last`, then rejoin live
                raise EventStreamInterrupted(last_yielded, exc.detail) from exc

    async def _after(self, scope: str | None, seq: int) -> list[OutboxEvent]:
        if seq >= self.bus.high_water and self.bus.status.healthy:
            return []  # nothing committed after `seq` was fanned out yet: what comes next arrives live
        async with self.reading(scope) as uow:
            return await uow.outbox.after(seq, self.replay_batch)
