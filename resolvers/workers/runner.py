"""The runner: a background task that claims activations with leases and executes them.

Several servers may share one PostgreSQL: each claims unfinished activations whose lease is free (or expired)
and whose services wait for no earlier activation, renews its leases while it works, and lets them go when it
stops. A server that dies keeps its leases until they expire; then any server (itself, restarted) resumes the
work. Requests wake the local runner after they commit (`kick`); work submitted through another server is
found by the periodic scan (`poll_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from resolvers import telemetry
from resolvers.activation.execution import Execution, ExecutionEnv, LeaseLost, Stopping
from store.uow import ALL_TENANTS

log = logging.getLogger("tmf640.engine")


def _now() -> datetime:
    return datetime.now(UTC)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    def __init__(
        self, env: ExecutionEnv, *, max_activations: int = 16, lease_seconds: float = 15.0, poll_seconds: float = 1.0
    ) -> None:
        self.env = env
        self.max_activations = max(1, max_activations)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def owner(self) -> str:
        return self.env.owner

    @property
    def alive(self) -> bool:
        """Its claiming loop and lease heartbeat run (readiness)."""
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    def kick(self) -> None:
        """Look for work now (a request just committed some)."""
        self._wake.set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop()), asyncio.create_task(self._heartbeat())]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, stop executions at their next safe point (a driver call under way is abandoned
        and stays in doubt, to be sent again with the same step id) and free the leases."""
        self.env.stopping.set()
        self.kick()
        await self._settle(self._tasks, grace_seconds)  # the loop may still start what it just claimed
        held = list(self._running)
        await self._settle(list(self._running.values()), grace_seconds)
        self._running.clear()
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

    async def _loop(self) -> None:
        while not self.env.stopping.is_set():
            self._wake.clear()
            try:
                free = self.max_activations - len(self._running)
                for activation_id in await self._claim(free) if free > 0 else []:
                    task = asyncio.create_task(self._execute(activation_id))
                    self._running[activation_id] = task
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable: try again at the next scan
                log.exception("claiming activations failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _claim(self, limit: int) -> list[str]:
        now = _now()
        async with self.env.store.write(ALL_TENANTS) as uow:
            candidates = await uow.activations.claimable(now, limit, exclude=list(self._running))
            return [c for c in candidates if await uow.activations.claim(c, self.owner, now + self.lease, now)]

    async def _execute(self, activation_id: str) -> None:
        try:
            await Execution(self.env, activation_id).run()
        except LeaseLost:
            telemetry.LEASES_LOST.inc()
            log.warning("activation %s: lease lost to another runner", activation_id,
                        extra={"event": "lease_lost", "activation_id": activation_id})
        except Stopping:
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            # Keep the lease until it expires: a failing activation is retried later, not in a tight loop.
            log.exception("activation %s failed in the runner", activation_id)
            return
        finally:
            self._running.pop(activation_id, None)
            self.kick()  # a finished activation may unblock the next one on the same services
        async with self.env.store.write(ALL_TENANTS) as uow:
            await uow.activations.release([activation_id], self.owner)

    async def _heartbeat(self) -> None:
        interval = max(0.05, self.lease.total_seconds() / 3)
        while not self.env.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self.env.stopping.wait()
            if self.env.stopping.is_set():
                return
            held = list(self._running)
            if not held:
                continue
            try:
                async with self.env.store.write(ALL_TENANTS) as uow:
                    kept = await uow.activations.renew(held, self.owner, _now() + self.lease)
            except Exception:
                log.exception("renewing leases failed")
                continue
            for lost in set(held) - kept:
                task = self._running.get(lost)
                if task is not None:
                    telemetry.LEASES_LOST.inc()
                    log.warning("activation %s: lease lost, stopping", lost,
                                extra={"event": "lease_lost", "activation_id": lost})
                    task.cancel()
