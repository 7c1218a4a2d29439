"""What executions share (ExecutionEnv), the retry policy, and the ways an execution stops early."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from resolvers.activation.drivers import DriverRegistry
from resolvers.activation.notify import Notifier
from resolvers.rules import intents
from resolvers.rules.errors import DomainError
from resolvers.rules.lifecycle import Lifecycle
from store.activation_types import StepRow
from store.services import ServiceRow
from store.uow import Store, UnitOfWork

T = TypeVar("T")


class LeaseLost(Exception):
    """Another runner holds this activation now: stop without recording anything."""


class Stopping(Exception):
    """The server is shutting down: leave the activation as recorded (a driver call under way stays in doubt)."""


class Held(Exception):
    """The activation was parked for an operator (recorded): stop working on it."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures: at most `attempts` retries within `seconds`, backoff doubling."""

    attempts: int = 5
    seconds: float = 300.0
    backoff: float = 1.0
    backoff_cap: float = 60.0

    def delay(self, retry: int) -> float:
        """The pause before retry number `retry` (1-based)."""
        return float(min(self.backoff_cap, self.backoff * 2 ** max(0, retry - 1)))

    def exhausted(self, retries: int, elapsed: float) -> bool:
        """True when `retries` already made (or `elapsed` seconds spent) leave no room for another."""
        return retries >= self.attempts or elapsed >= self.seconds


async def _always(_activation_id: str) -> bool:
    return True


@dataclass
class ExecutionEnv:
    """What executions share: the store, the rules, the drivers, and the runner's identity."""

    store: Store
    lifecycle: Lifecycle
    drivers: DriverRegistry
    notifier: Notifier
    owner: str
    concurrency: int = 8
    lease_seconds: float = 15.0  # recording work extends the lease by this much (as the heartbeat does)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_seconds: float = 0.5  # a Monitor's per-member summary is rewritten at most this often while it runs
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Asked right before every driver call: False when this runner can no longer be sure it holds the lease
    # (the runner sets it; it confirms with the database when its own bookkeeping is in doubt).
    lease_ok: Callable[[str], Awaitable[bool]] = _always

    async def guard(self, activation_id: str) -> None:
        """Right before a driver call: stop here unless this runner still holds the activation's lease."""
        if self.stopping.is_set():
            raise Stopping()
        if not await self.lease_ok(activation_id):
            raise LeaseLost(activation_id)

    async def resolve(
        self, uow: UnitOfWork, step: StepRow, row: ServiceRow | None, now: datetime
    ) -> intents.Resolution | None:
        """The pending `step` rebased on its service's as-is `row` (intents.resolve); None when it cannot be,
        the step then recorded failed with the reason (the service is gone, or the intent no longer applies)."""
        try:
            if row is None:
                raise DomainError(f"service {step.service_id!r} no longer exists")
            return intents.resolve(row.doc, step.changes, step.to_state, self.lifecycle)
        except DomainError as exc:
            await uow.activations.finish_step(step.id, status="failed", now=now, expect=("pending",),
                                              error=exc.message)
            return None

    async def outside(self, work: Awaitable[T]) -> T:
        """Await a driver call (or a pause) unless the server stops first.

        Stopping interrupts only what happens outside the database: a transaction is never cut in half.
        """
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopping()
