"""Running one activation: its steps in dependency order, concurrently within a bound; compensation on failure.

Crash safety rests on three records, each committed before the next thing happens:
1. a step is marked `running` (with the action and the documents it will send) *before* its driver is called;
2. the driver's answer is recorded *after* the call, together with its effect on the service (as-is state,
   revision, events) and the Monitor's progress, in one transaction;
3. compensation is marked `running` before the driver's `compensate` and `done` after, with the service
   restored to the document it had before the step.
A runner that dies between 1 and 2 leaves the step `running`: whoever resumes the activation sends it again
with the same step id (drivers are idempotent per step id), so no work is ever sent under two ids.
Every transaction begins by checking the lease (`touch`, which extends it too): a runner that lost it records
nothing, and right before every driver call the runner confirms it still holds the lease (`lease_ok`).
Resumption reads the facts, never a runner's memory: a failure recorded by an earlier runner stops an atomic
activation from starting anything new and sends it to compensation, however often servers died in between.
Transient driver failures are retried within `RetryPolicy`; when the retries run out, or a compensation
cannot complete, the activation is *held* for an operator (docs/activation.md, "Held work").
Locks are taken in one order everywhere, services before activations (requests do the same), so that
PostgreSQL never sees two transactions waiting for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from resolvers import telemetry
from resolvers.activation import calls, observe, progress
from resolvers.activation.drivers import DriverError
from resolvers.activation.env import ExecutionEnv, Held, LeaseLost, Stopping
from resolvers.activation.step_view import driver_step, record_context, revision_operation
from resolvers.activation.writes import apply_doc, delete_service
from store.activation_types import ActivationRow, StepRow
from store.uow import ALL_TENANTS, UnitOfWork

log = logging.getLogger("tmf640.engine")


def _now() -> datetime:
    return datetime.now(UTC)


class Execution:
    def __init__(self, env: ExecutionEnv, activation_id: str) -> None:
        self.env = env
        self.id = activation_id
        self._published = float("-inf")

    async def run(self) -> None:
        act = await self._load()
        if act is not None:  # every line of this work carries its ids (this task's own context)
            telemetry.set_context(**observe.ids_of(act))
        for _ in range(3):  # a cancel that lands while finishing sends the activation back to compensation
            act = await self._load()
            if act is None or act.finished or act.held:
                return
            failed = False
            if not (act.cancel_requested or act.status == "compensating"):
                if act.status == "queued":
                    await self._set_status("running")
                failed = await self._forward()
                act = await self._load()
                if act is None or act.held:
                    return
            if act.cancel_requested or act.status == "compensating" or (failed and act.policy == "atomic"):
                await self._compensate()
            if await self._finish():
                return

    # ---- forward -----------------------------------------------------------------------------------------

    async def _forward(self) -> bool:
        """Run steps until none is left or the activation must stop; True when a step failed."""
        steps = await self._steps()
        status = {s.id: s.status for s in steps}
        atomic = (await self._load_checked()).policy == "atomic"
        # A failure an earlier runner recorded is a fact: an atomic activation starts nothing more (not even
        # the in-doubt steps, which compensation undoes); a partial one carries on with what does not depend on it.
        failed = any(s.status == "failed" for s in steps)
        if failed and atomic:
            return True
        running: dict[asyncio.Task[str], str] = {}
        for s in steps:
            if s.status == "running":  # in doubt: the previous runner died during the call
                running[asyncio.create_task(self._redo(s))] = s.id
        try:
            while True:
                if self.env.stopping.is_set():
                    raise Stopping()
                act = await self._load_checked()
                stop = (failed and atomic) or act.cancel_requested or act.held
                if not stop:
                    await self._launch(steps, status, running)
                if not running:
                    return failed
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    step_id = running.pop(task)
                    status[step_id] = task.result()
                    failed = failed or status[step_id] == "failed"
        finally:
            # Let started steps reach their own safe point (never cut a transaction): they finish, or stop at
            # the driver call when the server stops, or find the lease lost when they record.
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _launch(
        self, steps: list[StepRow], status: dict[str, str], running: dict[asyncio.Task[str], str]
    ) -> None:
        busy = set(running.values())
        for s in steps:
            if len(running) >= self.env.concurrency:
                return
            if status[s.id] != "pending" or s.id in busy:
                continue
            deps = [status[d] for d in s.depends_on if d in status]
            if any(d in ("failed", "cancelled") for d in deps):
                await self._block(s, [d for d in s.depends_on if status.get(d) in ("failed", "cancelled")])
                status[s.id] = "cancelled"
            elif all(d == "succeeded" for d in deps):
                running[asyncio.create_task(self._start(s))] = s.id

    async def _block(self, step: StepRow, blockers: list[str]) -> None:
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            await uow.activations.finish_step(
                step.id, status="cancelled", now=now, expect=("pending",),
                error=f"not started: step {', '.join(blockers)} did not succeed",
            )
            await self._progress(uow, now)

    async def _start(self, step: StepRow) -> str:
        """Decide the step against the as-is service and record it as running; then call the driver."""
        now = _now()
        async with self._recording() as uow:
            row = await uow.services.get(step.service_id, for_update=True)  # lock order: service, activation
            await self._touch(uow, now)
            act = await self._load_checked(uow)
            fresh = await uow.activations.step(step.id)
            if act.cancel_requested or act.held or fresh is None or fresh.status != "pending":
                return fresh.status if fresh is not None else "cancelled"
            res = await self.env.resolve(uow, fresh, row, now)
            if res is None:
                await self._progress(uow, now)
                return "failed"
            if res.action is None:  # nothing for the network: the intent becomes the as-is at once
                order = await self._touch(uow, now, count_done=True)
                await uow.activations.finish_step(
                    step.id, status="succeeded", now=now, expect=("pending",), done_order=order, action=None,
                    from_state=res.from_state, before=res.before, after=res.after,
                )
                await apply_doc(uow, record_context(act, fresh), step.service_id, res.after, now,
                                operation=revision_operation(act), by_value=fresh.by_value)
                await self._progress(uow, now)
                return "succeeded"
            await uow.activations.start_step(step.id, action=res.action, from_state=res.from_state,
                                             before=res.before, after=res.after, now=now)
        started = await self._step(step.id)
        return await self._call(started)

    async def _redo(self, step: StepRow) -> str:
        log.info("step %s in doubt: sending it again", step.id,
                 extra={"event": "step_retry", "step_id": step.id, "service_id": step.service_id})
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            await uow.activations.retry_step(step.id, now)
        return await self._call(await self._step(step.id))

    async def _call(self, step: StepRow) -> str:
        act = await self._load_checked()
        call = driver_step(act, step)
        result, error = await calls.execute(self.env, call, guard=self._guard, hold=self._hold)
        observe.step_done(self.env.drivers, call, error)
        now = _now()
        async with self._recording() as uow:
            await uow.services.get(step.service_id, for_update=True)
            order = await self._touch(uow, now, count_done=error is None)
            if error is not None:
                await uow.activations.finish_step(step.id, status="failed", now=now, error=error)
                await self._progress(uow, now)
                return "failed"
            if not await uow.activations.finish_step(step.id, status="succeeded", now=now, result=result,
                                                     done_order=order):
                current = await uow.activations.step(step.id)
                return current.status if current else "failed"
            await apply_doc(uow, record_context(act, step), step.service_id, step.after_doc or {}, now,
                            operation=revision_operation(act), by_value=step.by_value)
            await self._progress(uow, now)
        return "succeeded"

    # ---- compensation ------------------------------------------------------------------------------------

    async def _compensate(self) -> None:
        """Undo what succeeded, newest first, one at a time; steps never started are cancelled."""
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            act = await self._load_checked(uow)
            reason = "cancelled" if act.cancel_requested else "not started: the activation failed"
            await uow.activations.cancel_pending_steps(self.id, now, reason)
            if act.status != "compensating":
                await uow.activations.set_status(self.id, "compensating", now)
            await self._progress(uow, now, force=True)
        steps = await self._steps()
        todo = [
            s for s in steps if s.status in ("succeeded", "running") and s.compensation not in ("done", "failed")
        ]
        # In-doubt steps (running) may have been done last; then the rest in reverse order of success.
        todo.sort(key=lambda s: (s.status != "running", -(s.done_order or 0)))
        for step in todo:
            if self.env.stopping.is_set():
                raise Stopping()
            await self._undo(step)

    async def _undo(self, step: StepRow) -> None:
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            await uow.activations.set_compensation(step.id, "running")
        act = await self._load_checked()
        error: str | None = None
        if step.action is not None:
            call = driver_step(act, step)
            began, retries = time.monotonic(), 0
            while True:
                await self._guard()
                try:
                    await self.env.outside(self.env.drivers.for_service(call.service).compensate(call))
                    error = None
                    break
                except Stopping:
                    raise
                except Exception as exc:
                    error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                    refused = isinstance(exc, DriverError) and not exc.retryable
                    if refused or self.env.retry.exhausted(retries, time.monotonic() - began):
                        break
                    retries += 1
                    await self.env.outside(asyncio.sleep(self.env.retry.delay(retries)))
        now = _now()
        async with self._recording() as uow:
            await uow.services.get(step.service_id, for_update=True)
            await self._touch(uow, now)
            if error is None:
                await uow.activations.set_compensation(step.id, "done")
                if step.before_doc is not None:
                    await apply_doc(uow, record_context(act, step), step.service_id, step.before_doc, now,
                                    operation="compensate")
                await self._progress(uow, now)
                observe.compensated(step.id, step.service_id, None)
                return
            await uow.activations.set_compensation(step.id, "failed", error=f"compensation failed: {error}")
        observe.compensated(step.id, step.service_id, error)
        await self._hold(f"compensation cannot complete: step {step.id} ({step.action} of service "
                         f"{step.service_id}): {error}")

    # ---- the end -----------------------------------------------------------------------------------------

    async def _finish(self) -> bool:
        """Record the outcome and finish the Monitors; False when a cancel arrived and work must be undone."""
        now = _now()
        async with self._recording() as uow:
            act = await self._load_checked(uow)
            if act.delete_root:
                await uow.services.get(act.root_id, for_update=True)
            await self._touch(uow, now)
            act = await self._load_checked(uow)
            result = progress.outcome(act, await uow.activations.steps(self.id))
            if result.name == "completed":
                if not await uow.activations.set_status(self.id, "completed", now, unless_cancelled=True):
                    return False
                if act.delete_root:
                    await delete_service(uow, record_context(act), act.root_id, now)
            else:
                await uow.activations.set_status(self.id, result.name, now)
            final = await self._load_checked(uow)
            ids = await progress.publish(uow, final, now, final=True)
        self.env.notifier.notify(ids)
        observe.finished(final, result.name, now)
        return True

    # ---- helpers -----------------------------------------------------------------------------------------

    async def _touch(self, uow: UnitOfWork, now: datetime, *, count_done: bool = False) -> int:
        until = now + timedelta(seconds=self.env.lease_seconds)
        order = await uow.activations.touch(self.id, self.env.owner, now, count_done=count_done, until=until)
        if order is None:
            raise LeaseLost(self.id)
        return order

    @contextlib.asynccontextmanager
    async def _recording(self) -> AsyncIterator[UnitOfWork]:
        """A transaction of this execution. Its last statement extends the lease again: a transaction slowed
        down by an overloaded machine holds the activation's row (other servers skip locked rows when they
        claim) and leaves the lease fresh when it commits, so the lease never lapses in between."""
        async with self.env.store.write(ALL_TENANTS) as uow:
            yield uow
            until = _now() + timedelta(seconds=self.env.lease_seconds)
            await uow.activations.extend(self.id, self.env.owner, until)

    async def _guard(self) -> None:
        await self.env.guard(self.id)

    async def _hold(self, reason: str) -> None:
        """Park the activation for an operator with `reason` (the Monitor shows it; an event announces it)."""
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            await uow.activations.hold(self.id, self.env.owner, reason, now)
            ids = await progress.publish(uow, await self._load_checked(uow), now, final=False)
        self.env.notifier.notify(ids)  # waiters see the held condition at once
        log.warning("activation %s held: %s", self.id, reason, extra={"event": "held", "reason": reason})
        raise Held(reason)

    async def _progress(self, uow: UnitOfWork, now: datetime, *, force: bool = False) -> None:
        """Rewrite the Monitors' summary, at most every `progress_seconds` (a big bundle has many steps)."""
        moment = time.monotonic()
        if not force and moment - self._published < self.env.progress_seconds:
            return
        self._published = moment
        await progress.publish(uow, await self._load_checked(uow), now, final=False)

    async def _set_status(self, status: str) -> None:
        now = _now()
        async with self._recording() as uow:
            await self._touch(uow, now)
            await uow.activations.set_status(self.id, status, now)

    async def _load(self) -> ActivationRow | None:
        async with self.env.store.read(ALL_TENANTS) as uow:
            return await uow.activations.get(self.id)

    async def _load_checked(self, uow: UnitOfWork | None = None) -> ActivationRow:
        if uow is None:
            act = await self._load()
        else:
            act = await uow.activations.get(self.id)
        if act is None:
            raise LeaseLost(self.id)
        return act

    async def _steps(self) -> list[StepRow]:
        async with self.env.store.read(ALL_TENANTS) as uow:
            return await uow.activations.steps(self.id)

    async def _step(self, step_id: str) -> StepRow:
        async with self.env.store.read(ALL_TENANTS) as uow:
            step = await uow.activations.step(step_id)
        if step is None:
            raise LeaseLost(self.id)
        return step
