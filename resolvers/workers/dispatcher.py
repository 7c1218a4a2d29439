"""The hub dispatcher: a background task POSTing each matching outbox event to each listener, in seq order.

At-least-once, ordered per listener, never in the request path, listeners served concurrently (one task each):
- events are delivered in batches (`batch` outbox rows): POSTed one after the other, the next only after the
  previous was accepted (so order holds), then settled in one transaction that records every attempt and moves
  the cursor past what was accepted or skipped; a crash before that re-sends the batch (the only duplicates);
- a failed attempt ends the batch and schedules the next one after `DeliveryPolicy.delay` (exponential,
  capped); once one event has failed for `max_age` (a day by default) the listener is marked `failing` and
  tried again every `failing_retry` seconds: when it answers it becomes active and receives everything it
  missed, with no operator (resolvers.hubs.Hubs.resume still retries at once);
- several processes on one PostgreSQL: a listener is served only under a lease (store.hubs): a conditional
  update on `lease_owner`/`lease_until`, taken per run, renewed once per batch (and within a batch only when
  the next POST could outlast it). The lease outlives the HTTP timeout, so two processes never deliver to one
  listener at once;
- a POST goes over a kept-alive connection (resolvers.workers.hub_http) to the address the guard checked, once
  per batch; one event's filter index and body are made once for every listener.

It wakes on every event the bus carries, when a listener is registered or resumed, when a backed-off retry
falls due, and every `poll_interval` seconds as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from resolvers import telemetry
from resolvers.callback_guard import CallbackGuard, PinnedTarget
from resolvers.context import EVERY_TENANT
from resolvers.rules.delivery import DeliveryPolicy, body_of, headers
from resolvers.rules.matching import Row, index, matches_index, parse_event_query
from resolvers.workers.hub_http import HubClient
from store.bus import Bus, SubscriberDropped, Subscription
from store.hubs import ACTIVE, FAILING, Failure, HubRow
from store.outbox import OutboxEvent
from store.query_form import Condition
from store.uow import ALL_TENANTS, Store

log = logging.getLogger("tmf640.hub")
# Events whose filter index and body are kept for the other listeners (they move through the outbox about together).
_SHARED = 4096


def _now() -> datetime:
    return datetime.now(UTC)


def _visible(hub: HubRow, event: OutboxEvent) -> bool:
    """A listener receives the events of its own tenant only (one registered for every tenant: all)."""
    return hub.tenant == EVERY_TENANT or event.tenant == hub.tenant


@dataclass(frozen=True)
class DispatcherConfig:
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    poll_interval: float = 1.0
    lease_seconds: float = 30.0
    timeout: float = 10.0
    batch: int = 100
    concurrency: int = 16
    signing: str = "both"  # with a secret: "tmf640" (X-TMF640-Signature), "standard" (Standard Webhooks), "both"

    def __post_init__(self) -> None:
        if self.lease_seconds <= self.timeout:
            raise ValueError("the hub lease must outlast the HTTP timeout, or two processes could deliver at once")


@dataclass(frozen=True)
class DispatcherStatus:
    owner: str
    healthy: bool
    error: str | None
    serving: int


class Dispatcher:
    def __init__(self, store: Store, config: DispatcherConfig, *, bus: Bus | None = None,
                 owner: str | None = None, guard: CallbackGuard | None = None) -> None:
        self.store = store
        self.guard = guard or CallbackGuard()  # every connection goes to an address checked just before
        self.config = config
        self.bus = bus
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._workers: dict[str, asyncio.Task[None]] = {}  # by listener, while it is served
        self._live: set[asyncio.Task[None]] = set()  # every worker until it has ended, its lease released
        self._client = HubClient(config.timeout)
        self._queries: dict[str | None, tuple[Condition, ...]] = {}
        # By outbox seq: what every listener needs of one event (its filter index, the bytes POSTed), made once.
        self._indexes: dict[tuple[int, str], dict[str, list[Row]]] = {}
        self._bodies: dict[tuple[int, str], bytes] = {}
        self._error: str | None = None
        self._stopping = False

    @property
    def status(self) -> DispatcherStatus:
        running = self._task is not None and not self._task.done()
        return DispatcherStatus(self.owner, running and self._error is None, self._error, len(self._workers))

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._client = HubClient(self.config.timeout)  # connects at the first delivery (aiohttp loads then)
        self._task = asyncio.create_task(self._run(), name="tmf640-hub-dispatcher")
        if self.bus is not None:  # subscribed before start() returns: no wake-up can be missed
            self._watch = asyncio.create_task(self._watch_bus(self.bus, self.bus.attach()), name="tmf640-hub-wakeup")

    async def stop(self) -> None:
        """Stop claiming, let each worker finish the POST in flight (up to the HTTP timeout), then cancel.

        Finishing the current POST and recording it avoids re-sending it after a routine restart; workers
        release their leases as they end, so another process can take over at once.
        """
        self._stopping = True
        self.wake()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        # The loop may still claim a listener while it stops, and a worker leaves `_workers` before releasing its
        # lease: wait for every task alive until none is left (the database must not be closed under one).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout
        while pending := [t for t in (self._task, *self._live) if t is not None and not t.done()]:
            _done, late = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            for task in late:  # no query is cut off mid-flight unless the grace period runs out
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._watch = None
        await self._client.close()

    # ---- scheduling --------------------------------------------------------------------------------------

    async def _watch_bus(self, bus: Bus, sub: Subscription | None) -> None:
        try:
            while True:
                try:
                    if sub is None:
                        sub = bus.attach()
                    async for _event in sub:
                        self.wake()
                except SubscriberDropped:
                    if sub is not None:
                        bus.detach(sub)
                    sub = None
                    self.wake()
                    await asyncio.sleep(self.config.poll_interval)  # the bus is reconnecting; polling covers us
        finally:
            if sub is not None:
                bus.detach(sub)

    async def _run(self) -> None:
        while not self._stopping:
            next_retry: datetime | None = None
            try:
                next_retry = await self.tick()
                self._error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._error = f"{type(exc).__name__}: {exc}"
                log.error("hub dispatcher tick failed: %s", self._error, exc_info=exc)
            timeout = self.config.poll_interval
            if next_retry is not None:
                timeout = min(timeout, max(0.0, (next_retry - _now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # not wait_for: it can swallow a cancel on 3.11
                    await self._wake.wait()
            self._wake.clear()

    async def tick(self) -> datetime | None:
        """Claim the listeners that have events to deliver and serve each in its own task.

        Returns when the soonest backed-off retry falls due, if any.
        """
        now = _now()
        async with self.store.read(ALL_TENANTS) as uow:
            due = await uow.hubs.due(now, await uow.outbox.last_seq())
        free = self.config.concurrency - len(self._workers)
        for hub_id in due.ids:
            if free <= 0 or self._stopping:
                break
            if hub_id in self._workers:
                continue
            async with self.store.write(ALL_TENANTS) as uow:
                won = await uow.hubs.claim(hub_id, self.owner, now, now + self._lease())
            if won:
                log.debug("hub %s claimed by %s", hub_id, self.owner)
                task = asyncio.create_task(self._serve(hub_id), name=f"tmf640-hub-{hub_id}")
                self._workers[hub_id] = task
                self._live.add(task)
                task.add_done_callback(self._ended)
                free -= 1
        return due.next_retry_at

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._live.discard(task)
        self.wake()

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.config.lease_seconds)

    # ---- one listener ------------------------------------------------------------------------------------

    async def _serve(self, hub_id: str) -> None:
        """Deliver everything pending for one listener, in order, batch by batch, until caught up or one fails."""
        try:
            while not self._stopping:
                async with self.store.read(ALL_TENANTS) as uow:
                    hub = await uow.hubs.get(hub_id)
                    if hub is None or hub.state not in (ACTIVE, FAILING) or hub.lease_owner != self.owner:
                        return
                    if hub.next_attempt_at is not None and hub.next_attempt_at > _now():
                        return
                    events = await uow.outbox.after(hub.cursor, self.config.batch)
                if not events or not await self._deliver_batch(hub, events):
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = f"{type(exc).__name__}: {exc}"
            log.error("hub %s: delivery run failed: %s", hub_id, self._error, exc_info=exc)
        finally:
            self._workers.pop(hub_id, None)
            try:
                async with self.store.write(ALL_TENANTS) as uow:
                    await uow.hubs.release(hub_id, self.owner)
            except Exception as exc:  # the lease then simply expires
                log.warning("hub %s: could not release its lease: %s", hub_id, exc)

    async def _deliver_batch(self, hub: HubRow, events: list[OutboxEvent]) -> bool:
        """POST the batch's matching events in order, stopping at the first failure, then settle it all in one
        transaction (attempt records, cursor, failure streak). One lease per batch: renewed before it, and again
        only if the batch outlasts half the lease. True when the listener may have more to deliver.

        A crash before the settle re-sends the batch (at-least-once: the duplicates are the batch's).
        """
        if not await self._renew(hub.id):
            return False
        renewed = time.monotonic()
        conditions = self._conditions(hub.query)
        records: list[dict[str, Any]] = []
        pinned: dict[str, PinnedTarget] = {}  # the callback is resolved and checked once per batch
        passed, failure, sent = hub.cursor, None, 0
        for event in events:
            if self._stopping:
                break
            if not _visible(hub, event) or not self._matches(conditions, event):
                passed = event.seq
                continue
            if time.monotonic() - renewed + self.config.timeout > self.config.lease_seconds * 0.9:
                if not await self._renew(hub.id):
                    break
                renewed = time.monotonic()
            attempt = hub.attempts + 1 if sent == 0 else 1
            record = await self._post(hub, event, attempt, pinned)
            records.append(record)
            sent += 1
            telemetry.hub_attempt(hub.id, record["delivered"])
            if not record["delivered"]:
                failure = self._failure(hub, record, recovered=sent > 1)
                break
            passed = event.seq
        if passed == hub.cursor and failure is None and not records:
            return False
        kept = await self._settle(hub, passed, failure, records)
        self._log_transition(hub, failure, records)
        return kept and failure is None and not self._stopping

    def _failure(self, hub: HubRow, record: dict[str, Any], *, recovered: bool) -> Failure:
        now, policy = record["at"], self.config.policy
        first = now if recovered else (hub.first_failure_at or now)
        attempts = record["attempt"]
        give_up = not recovered and (hub.state == FAILING or policy.gives_up(attempts, first, now))
        later = timedelta(seconds=policy.failing_retry) if give_up else policy.delay(attempts)
        return Failure(attempts=attempts, first_failure_at=first, next_attempt_at=now + later,
                       error=record["error"] or "failed", give_up=give_up, recovered=recovered,
                       failed_at=hub.failed_at if hub.state == FAILING and not recovered else None)

    def _log_transition(self, hub: HubRow, failure: Failure | None, records: list[dict[str, Any]]) -> None:
        ids = {"listener": hub.id, "callback": hub.callback}
        if hub.state == FAILING and any(r["delivered"] for r in records):
            log.warning("hub %s answers again: delivering what it missed", hub.id,
                        extra={"event": "hub_resumed", **ids})
        if failure is not None and failure.give_up and hub.state != FAILING:
            log.warning("hub %s marked failing after %d attempts: %s; retried every %ss", hub.id, failure.attempts,
                        failure.error, self.config.policy.failing_retry,
                        extra={"event": "hub_give_up", "attempts": failure.attempts, "error": failure.error, **ids})
        elif failure is not None and not failure.give_up:
            log.info("hub %s delivery failed (attempt %d), retry in %.1fs: %s", hub.id, failure.attempts,
                     (failure.next_attempt_at - _now()).total_seconds(), failure.error,
                     extra={"event": "hub_retry", "attempts": failure.attempts, "error": failure.error, **ids})

    def _conditions(self, query: str | None) -> tuple[Condition, ...]:
        if query not in self._queries:
            if len(self._queries) >= 1024:  # bounded: listeners come and go
                self._queries.clear()
            self._queries[query] = parse_event_query(query)  # checked at registration
        return self._queries[query]

    def _matches(self, conditions: tuple[Condition, ...], event: OutboxEvent) -> bool:
        if not conditions:
            return True
        key = (event.seq, event.event_id)  # the event id too: a seq may come again once the outbox was emptied
        rows = self._indexes.get(key)
        if rows is None:
            if len(self._indexes) >= _SHARED:
                self._indexes.clear()
            rows = self._indexes[key] = index(event.payload)
        return matches_index(conditions, rows)

    def _body(self, event: OutboxEvent) -> bytes:
        key = (event.seq, event.event_id)
        body = self._bodies.get(key)
        if body is None:
            if len(self._bodies) >= _SHARED:
                self._bodies.clear()
            body = self._bodies[key] = body_of(event.payload)
        return body

    async def _renew(self, hub_id: str) -> bool:
        async with self.store.write(ALL_TENANTS) as uow:
            return await uow.hubs.renew(hub_id, self.owner, _now() + self._lease())

    async def _post(self, hub: HubRow, event: OutboxEvent, attempt: int,
                    pinned: dict[str, PinnedTarget]) -> dict[str, Any]:
        """One POST of one event; the attempt's record (delivered only when answered 2xx)."""
        body = self._body(event)
        sent_headers = headers(hub_id=hub.id, event_id=event.event_id, event_type=event.event_type,
                               correlation_id=event.correlation_id, attempt=attempt, body=body, secret=hub.secret,
                               timestamp=int(time.time()), signing=self.config.signing)
        status_code: int | None = None
        error: str | None = None
        started = time.monotonic()
        try:
            target = pinned.get(hub.callback) or await self.guard.pin(hub.callback)  # checked, then pinned
            pinned[hub.callback] = target
            answer = await self._client.post(target, body, sent_headers)
            status_code = answer.status
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code} {answer.reason}".strip()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return {"listener_id": hub.id, "seq": event.seq, "event_id": event.event_id, "event_type": event.event_type,
                "attempt": attempt, "at": _now(), "status_code": status_code, "error": error,
                "duration_ms": (time.monotonic() - started) * 1000, "delivered": error is None}

    async def _settle(self, hub: HubRow, cursor: int, failure: Failure | None, records: list[dict[str, Any]]) -> bool:
        async with self.store.write(ALL_TENANTS) as uow:
            kept = await uow.hubs.settle(hub.id, self.owner, cursor=cursor, now=_now(), failure=failure)
            if kept or await uow.hubs.get(hub.id) is not None:  # a deleted listener keeps no records
                await uow.hubs.record_many(records)
        return kept
