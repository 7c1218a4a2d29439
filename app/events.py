"""The event pipeline of one process: the bus, the outbox relay and the hub dispatcher, run by the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from app.settings import Settings
from resolvers.callback_guard import CallbackGuard
from resolvers.rules.callbacks import CallbackRules
from resolvers.rules.delivery import DeliveryPolicy
from resolvers.workers.dispatcher import Dispatcher, DispatcherConfig
from resolvers.workers.relay import Relay
from store.bus import Bus, SubscriberDropped, open_bus
from store.uow import Store


def callback_guard(settings: Settings) -> CallbackGuard:
    """Hub callbacks: public addresses only, bar the allow-list, and never this server itself."""
    local = ["localhost", "127.0.0.1", "[::1]"] if settings.host in ("0.0.0.0", "::") else []
    own = [settings.public_base_url, f"http://{settings.host}:{settings.port}",
           *(f"http://{name}:{settings.port}" for name in local)]
    return CallbackGuard(CallbackRules.build(settings.hub_callback_allow, own))


class EventPipeline:
    """Started after migrations, stopped before the database is disposed."""

    def __init__(self, settings: Settings, store: Store) -> None:
        store = store.for_workers()  # its own connections: client requests never starve the pipeline
        self.bus = open_bus(settings.bus_url, store.db, queue_size=settings.bus_queue_size)
        self.relay = Relay(store, self.bus, poll_interval=settings.bus_poll_interval)
        policy = DeliveryPolicy(
            retry_base=settings.hub_retry_base,
            retry_cap=settings.hub_retry_cap,
            max_attempts=settings.hub_max_attempts,
            max_age=settings.hub_max_age,
            failing_retry=settings.hub_failing_retry,
        )
        config = DispatcherConfig(
            policy=policy,
            poll_interval=settings.hub_poll_interval,
            lease_seconds=settings.hub_lease,
            timeout=settings.hub_timeout,
            batch=settings.hub_batch,
            concurrency=settings.hub_concurrency,
            signing=settings.hub_signing,
        )
        self.dispatcher = Dispatcher(store, config, bus=self.bus, guard=callback_guard(settings))
        self._poll = settings.bus_poll_interval
        self._monitor_watch: asyncio.Task[None] | None = None
        self._on_monitors: Callable[[Iterable[str]], None] | None = None

    def on_monitor_events(self, notify: Callable[[Iterable[str]], None]) -> None:
        """Call `notify(monitor ids)` for every Monitor event on the bus, whichever process committed it: a
        request waiting here for its Monitor (REST `Prefer: wait`, the synchronous create) is woken when the
        work finishes on another server sharing the database, not only when this server's runner finishes it."""
        self._on_monitors = notify

    async def start(self) -> None:
        await self.bus.start()
        if self._on_monitors is not None:  # a waiter re-reads its Monitor at its bound: a late start costs latency only
            self._monitor_watch = asyncio.create_task(
                _watch_monitors(self.bus, self._on_monitors, self._poll), name="tmf640-monitor-waiters")
        await self.relay.start()
        await self.dispatcher.start()

    async def stop(self) -> None:
        if self._monitor_watch is not None:
            self._monitor_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor_watch
            self._monitor_watch = None
        await self.dispatcher.stop()
        await self.relay.stop()
        await self.bus.stop()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether every part runs without a standing failure, and what each reports."""
        bus, relay, dispatcher = self.bus.status, self.relay.status, self.dispatcher.status
        report = {
            "bus": {"backend": bus.backend, "healthy": bus.healthy, "error": bus.error,
                    "subscribers": bus.subscribers, "dropped": bus.dropped, "highWater": bus.high_water},
            "relay": {"healthy": relay.healthy, "error": relay.error, "cursor": relay.cursor},
            "dispatcher": {"healthy": dispatcher.healthy, "error": dispatcher.error, "owner": dispatcher.owner,
                           "serving": dispatcher.serving},
        }
        return bus.healthy and relay.healthy and dispatcher.healthy, report


async def _watch_monitors(bus: Bus, notify: Callable[[Iterable[str]], None], poll: float) -> None:
    """Wake waiters on Monitor events until cancelled; when the bus drops us, re-attach after a pause (a waiter
    still re-reads its Monitor when its own bound runs out, so a gap costs latency, never an answer)."""
    while True:
        try:
            with contextlib.ExitStack() as attached:
                sub = bus.attach()
                attached.callback(bus.detach, sub)
                async for event in sub:
                    if event.resource_type == "monitor":
                        notify((event.resource_id,))
        except SubscriberDropped:
            await asyncio.sleep(poll)
