"""The runner: a background task that claims activations with leases and executes them.

Several servers may share one PostgreSQL: each claims unfinished activations whose lease is free (or expired),
that are not held for an operator, and whose services wait for no earlier activation; it renews its leases
while it works and lets them go when it stops. A server that dies keeps its leases until they expire; then any
server (itself, restarted) resumes the work from what the rows say. Requests wake the local runner after they
commit (`kick`); work submitted through another server is found by the periodic scan (`poll_seconds`).

Leases hold under load: renewal runs in a thread of its own with its own connection (`LeaseKeeper`), renews in
one row order skipping rows its own work is recording (recording extends the lease too), and retries deadlock
and serialisation failures. Before every driver call an execution asks `lease_ok`: when this runner's bookkeeping
cannot vouch for the lease (the heartbeat is late), it confirms with the database, so a runner that lost a
lease stops before its next driver call. Lost leases are logged and counted (`stats()`).

An unexpected error in an execution is retried after a backoff (the lease is let go, `retry_after` set) within
`RetryPolicy`; when the retries run out the activation is held for an operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from resolvers.activation import progress
from resolvers.activation.batch import Committer
from resolvers.activation.env import ExecutionEnv, Held, LeaseLost, Stopping
from resolvers.activation.forward import Forward
from resolvers.workers.jeopardy import JeopardyWatch
from resolvers.workers.lease_keeper import LeaseKeeper
from store.db import transient_error
from store.uow import ALL_TENANTS

log = logging.getLogger("tmf640.engine")

def _now() -> datetime:
    return datetime.now(UTC)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    def __init__(
        self, env: ExecutionEnv, *, max_activations: int = 16, lease_seconds: float = 15.0, poll_seconds: float = 1.0,
        expected_seconds: float = 0.0, expected_seconds_by_spec: dict[str, float] | None = None,
    ) -> None:
        self.env = env
        self.max_activations = max(1, max_activations)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}  # by activation, while it executes
        self._live: set[asyncio.Task[None]] = set()  # every execution until it has ended, its lease released
        self._tasks: list[asyncio.Task[None]] = []
        self._lost: set[str] = set()  # lost during the current execution (counted once)
        # Counters (plain attributes, read by whoever exports metrics):
        self.leases_lost = 0  # leases this runner found taken by another runner while it worked
        self.activations_retried = 0  # unexpected errors retried after a backoff
        self.activations_held = 0  # activations this runner parked for an operator
        self.jeopardy = JeopardyWatch(env, expected_seconds, expected_seconds_by_spec or {})
        self.keeper = LeaseKeeper(env.store.db.url, env.owner, lease_seconds, self._on_lost)
        self.committer = Committer(env)  # forward work of every activation, recorded in shared transactions
        env.lease_ok = self.lease_ok

    @property
    def owner(self) -> str:
        return self.env.owner

    @property
    def alive(self) -> bool:
        """Its claiming loop and lease heartbeat run (readiness)."""
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    def stats(self) -> dict[str, int]:
        """The runner's counters and gauges, for metrics."""
        return {
            "running": len(self._running), "leases_lost": self.leases_lost,
            "renewal_retries": self.keeper.renewal_retries, "renewal_failures": self.keeper.renewal_failures,
            "activations_retried": self.activations_retried,
            "activations_held": self.activations_held, "jeopardy_flagged": self.jeopardy.flagged,
        }

    def kick(self) -> None:
        """Look for work now (a request just committed some)."""
        self._wake.set()

    async def start(self) -> None:
        self.keeper.start()
        self.committer.start()
        self._tasks = [asyncio.create_task(self._loop())]
        if self.jeopardy.enabled:
            self._tasks.append(asyncio.create_task(self._watch()))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, stop executions at their next safe point (a driver call under way is abandoned
        and stays in doubt, to be sent again with the same step id) and free the leases."""
        self.env.stopping.set()
        self.kick()
        await self._settle(self._tasks, grace_seconds)  # the loop may still start what it just claimed
        held = list(self._running)
        # An execution leaves `_running` before releasing its lease: wait for it whole (the database must not be
        # closed under it).
        await self._settle(list(self._live), grace_seconds)
        self._running.clear()
        await self.committer.stop()
        await self.keeper.stop()
        if held:
            with contextlib.suppress(Exception):
                async with self.env.store.write(ALL_TENANTS) as uow:
                    await uow.activations.release(held, self.owner)

    @staticmethod
    async def _settle(tasks: list[asyncio.Task[None]], grace_seconds: float) -> None:
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in late:  # last resort: something ignored the stop
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---- claiming and executing --------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self.env.stopping.is_set():
            self._wake.clear()
            try:
                free = self.max_activations - len(self._running)
                for activation_id in await self._claim(free) if free > 0 else []:
                    task = asyncio.create_task(self._execute(activation_id))
                    self._running[activation_id] = task
                    self._live.add(task)
                    task.add_done_callback(self._live.discard)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable: try again at the next scan
                log.exception("claiming activations failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _claim(self, limit: int) -> list[str]:
        """Take the leases of up to `limit` claimable activations. Looking is a read: a write transaction is
        opened only when there is something to claim (an idle runner's safety-net poll writes nothing)."""
        began, now = time.monotonic(), _now()
        exclude = list(self._running)
        async with self.env.store.read(ALL_TENANTS) as uow:
            if not await uow.activations.claimable(now, limit, exclude=exclude):
                return []
        async with self.env.store.write(ALL_TENANTS) as uow:
            candidates = await uow.activations.claimable(now, limit, exclude=exclude)
            claimed = await uow.activations.claim_many(candidates, self.owner, now + self.lease, now)
        for c in claimed:
            self.keeper.hold(c, began)
        return claimed

    async def _execute(self, activation_id: str) -> None:
        try:
            finished = await Forward(self.env, self.committer, activation_id).run()
        except LeaseLost:
            await self._check_lost(activation_id)
            return
        except Held:
            self.activations_held += 1
            finished = False
        except Stopping:
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("activation %s failed in the runner", activation_id)
            await self._failed(activation_id, exc)
            return
        finally:
            self._running.pop(activation_id, None)
            self.keeper.drop(activation_id)
            self._lost.discard(activation_id)
            self.kick()  # a finished activation may unblock the next one on the same services
        if not finished:  # a finished activation let its lease go when it finished
            async with self.env.store.write(ALL_TENANTS) as uow:
                await uow.activations.release([activation_id], self.owner)

    async def _failed(self, activation_id: str, exc: Exception) -> None:
        """An unexpected error: retry after a backoff within the policy, else hold the work for an operator."""
        policy, now = self.env.retry, _now()
        try:
            async with self.env.store.write(ALL_TENANTS) as uow:
                act = await uow.activations.get(activation_id)
                if act is None or act.finished or act.lease_owner != self.owner:
                    return
                failures = act.failures + 1
                elapsed = (now - (act.failing_since or now)).total_seconds()
                if policy.exhausted(failures - 1, elapsed):
                    reason = f"unexpected error, {failures} times in a row: {type(exc).__name__}: {exc}"
                    await uow.activations.hold(activation_id, self.owner, reason, now)
                    await uow.activations.release([activation_id], self.owner)
                    fresh = await uow.activations.get(activation_id)
                    ids = await progress.publish(uow, fresh, now, final=False) if fresh is not None else []
                    self.env.notifier.notify(ids)
                    self.activations_held += 1
                    log.warning("activation %s held: %s", activation_id, reason,
                                extra={"event": "held", "activation_id": activation_id, "reason": reason})
                    return
                pause = timedelta(seconds=policy.delay(failures))
                await uow.activations.record_failure(activation_id, self.owner, now, now + pause)
                self.activations_retried += 1
        except Exception:  # the database itself is failing: the lease expires and the work is retried then
            log.exception("activation %s: recording its failure failed", activation_id)

    # ---- leases ------------------------------------------------------------------------------------------

    async def lease_ok(self, activation_id: str) -> bool:
        """Whether this runner still holds `activation_id`'s lease (asked right before each driver call)."""
        if activation_id in self._lost:
            return False
        if self.keeper.sure(activation_id):
            return True
        lost = await self._renew([activation_id])  # in doubt: ask the database (and extend it)
        if lost is None:
            return False
        if activation_id in lost:
            self._note_lost(activation_id)
            return False
        return True

    async def _check_lost(self, activation_id: str) -> None:
        """An execution stopped because its lease check failed: count it when another runner holds it now
        (not when the activation finished or was cancelled before it started, which also clears the lease)."""
        try:
            async with self.env.store.read(ALL_TENANTS) as uow:
                holder = await uow.activations.holder(activation_id)
        except Exception:
            holder = None
        if holder is not None and holder != self.owner:
            self._note_lost(activation_id, holder)

    def _note_lost(self, activation_id: str, holder: str | None = None) -> None:
        if activation_id in self._lost:
            return
        self._lost.add(activation_id)
        self.keeper.drop(activation_id)
        self.leases_lost += 1
        log.warning("activation %s: lease lost to another runner%s (%d lost so far)", activation_id,
                    f" ({holder})" if holder else "", self.leases_lost,
                    extra={"event": "lease_lost", "activation_id": activation_id, "holder": holder})

    async def _renew(self, ids: list[str]) -> set[str] | None:
        """Renew now, from the event loop (a lease in doubt right before a driver call); the ids another
        runner holds, or None when the database could not be asked."""
        for attempt in range(5):
            began = time.monotonic()
            try:
                async with self.env.store.side_write() as uow:
                    lost = await uow.activations.renew(ids, self.owner, _now() + self.lease)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if transient_error(exc) and attempt < 4:
                    continue
                log.exception("renewing a lease failed")
                return None
            for kept in set(ids) - lost:
                if kept in self._running:
                    self.keeper.vouch(kept, began)
            return lost
        return None

    def _on_lost(self, ids: set[str]) -> None:
        """The keeper found leases another runner holds: stop those executions (no driver call is made)."""
        for gone in ids:
            task = self._running.get(gone)
            if task is not None:
                self._note_lost(gone)
                task.cancel()

    async def _watch(self) -> None:
        """Flag work running longer than expected (jeopardy), among the activations this runner holds."""
        while not self.env.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self.env.stopping.wait()
            if self.env.stopping.is_set() or not self._running:
                continue
            try:
                await self.jeopardy.check(list(self._running))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checking for jeopardy failed")
