"""The activation engine, assembled: request intake, the runner, the drivers, in-process notification.

REST and GraphQL reach it through `Services` (writes return the service and its Monitor at once) and through
`Engine.wait` (REST's bounded wait for the outcome). The app starts and stops it with its lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from resolvers.activation.drivers import DriverRegistry
from resolvers.activation.env import ExecutionEnv, RetryPolicy
from resolvers.activation.intake import Intake, Submitted
from resolvers.activation.notify import Notifier
from resolvers.activation.operator import Operator
from resolvers.context import RequestContext
from resolvers.rules import monitor_docs
from resolvers.rules.lifecycle import Lifecycle
from resolvers.workers.runner import Runner, new_owner
from store.uow import Store


@dataclass(frozen=True)
class EngineConfig:
    """Engine settings (app.settings maps TMF640_* onto these)."""

    policy: str = "atomic"  # server default when a request names none
    concurrency: int = 8  # steps of one activation running at once (independent branches)
    max_activations: int = 16  # activations one server runs at once
    lease_seconds: float = 15.0  # how long a claim lasts without renewal (a dead server's work waits this long)
    poll_seconds: float = 1.0  # how often the runner looks for work it was not told about
    progress_seconds: float = 0.5  # how often a running activation rewrites its Monitors' summary
    retry_attempts: int = 5  # retries of a transient failure (a driver unreachable, an unexpected error) ...
    retry_seconds: float = 300.0  # ... within this long; then the activation is held for an operator
    retry_backoff: float = 1.0  # first pause between retries, doubled each time ...
    retry_backoff_cap: float = 60.0  # ... up to this
    expected_seconds: float = 0.0  # work running longer is flagged in jeopardy (0: never)
    expected_seconds_by_spec: dict[str, float] | None = None  # per serviceSpecification id or name of the root


class Engine:
    def __init__(
        self,
        store: Store,
        lifecycle: Lifecycle,
        drivers: DriverRegistry | None = None,
        config: EngineConfig | None = None,
        owner: str | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.store = store
        self.drivers = drivers or DriverRegistry()
        self.notifier = Notifier()
        self.env = ExecutionEnv(  # the runner's own connections (Store.for_workers): clients never starve it
            store=store.for_workers(), lifecycle=lifecycle, drivers=self.drivers, notifier=self.notifier,
            owner=owner or new_owner(), concurrency=max(1, self.config.concurrency),
            lease_seconds=self.config.lease_seconds, progress_seconds=self.config.progress_seconds,
            retry=RetryPolicy(attempts=max(0, self.config.retry_attempts), seconds=self.config.retry_seconds,
                              backoff=self.config.retry_backoff, backoff_cap=self.config.retry_backoff_cap),
        )
        self.runner = Runner(
            self.env, max_activations=self.config.max_activations, lease_seconds=self.config.lease_seconds,
            poll_seconds=self.config.poll_seconds, expected_seconds=self.config.expected_seconds,
            expected_seconds_by_spec=self.config.expected_seconds_by_spec or {},
        )
        self.intake = Intake(lifecycle, self.config.policy)
        self.operator = Operator(store, self.notifier, self.runner.kick)

    async def start(self) -> None:
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.drivers.aclose()

    def submitted(self, sub: Submitted) -> None:
        """After the request's commit: wake waiters of monitors that finished, and the runner for new work."""
        self.notifier.notify(sub.notify)
        if sub.queued:
            self.runner.kick()

    async def monitor(self, ctx: RequestContext, monitor_id: str) -> dict[str, Any] | None:
        async with self.store.read(ctx.caller.scope) as uow:
            row = await uow.monitors.get(monitor_id)
        return monitor_docs.render(row.id, ctx.monitor_href(row.id), row.doc) if row else None

    async def wait(self, ctx: RequestContext, monitor_id: str, seconds: float) -> dict[str, Any] | None:
        """The Monitor once it is final, or as it stands when `seconds` have passed."""
        deadline = asyncio.get_running_loop().time() + seconds
        with self.notifier.watch(monitor_id) as changed:
            while True:  # woken by each change of the Monitor (here or, through the bus, on another server)
                changed.clear()
                current = await self.monitor(ctx, monitor_id)
                if current is None or monitor_docs.is_final(current) or seconds <= 0:
                    return current
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await changed.wait()
                if not changed.is_set():  # the bound ran out
                    return await self.monitor(ctx, monitor_id)
