"""Group commit: the forward work of many activations recorded in shared transactions.

Each activation's task (`resolvers/activation/forward.py`) hands its drivers' answers to the `Committer` and
waits; the committer takes every request that arrived meanwhile and records them all in one transaction, with
one statement per kind of change for the whole batch where SQL allows it: the leases checked and extended
(`touch_many`), the answers recorded, each success's service change (revision, events), the next ready steps
of each activation marked `running` (before their drivers are called, as one execution does), the finished
activations completed with their Monitors final. The crash-safety records are those of `execution.py`, each
committed before the next thing happens; only their transactions are shared.

Whatever is not plain forward work (a failure, a cancel, held work, compensation, an in-doubt step found after
a crash, a deleted root) is handed over to the one-activation `Execution`, which resumes from the rows.
A batch that fails is tried again one request at a time, so that one activation's error stays its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from resolvers.activation import progress
from resolvers.activation.env import ExecutionEnv
from resolvers.activation.step_view import record_context, revision_operation
from resolvers.activation.writes import apply_doc
from store.activation_types import ActivationRow, StepRow
from store.db import transient_error
from store.services import ServiceRow
from store.uow import ALL_TENANTS, UnitOfWork

log = logging.getLogger("tmf640.engine")


@dataclass
class Track:
    """One activation's forward work as its runner holds it between transactions (the rows stay the truth)."""

    id: str
    steps: list[StepRow] | None = None  # loaded once, in the first transaction
    status: dict[str, str] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)  # recorded running, driver call under way
    act: ActivationRow | None = None
    published: float = float("-inf")


@dataclass(frozen=True)
class Answer:
    step: StepRow
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class Request:
    track: Track
    answers: list[Answer]
    start: bool  # may start new steps (False: only record, the task is stopping)


@dataclass
class Outcome:
    started: list[StepRow] = field(default_factory=list)  # recorded running: call their drivers now
    finished: bool = False  # completed, Monitors final, lease let go
    handover: bool = False  # the rest is the one-activation Execution's
    lost: bool = False  # the lease is another runner's: record nothing more
    again: bool = False  # steps completed without a driver: ask again for the next ones
    notify: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """What one request changes, applied to its Track only once the transaction committed."""

    status: dict[str, str]
    busy: set[str]
    act: ActivationRow | None = None
    steps: list[StepRow] | None = None
    last: float = float("-inf")  # when its Monitors were last written
    recorded: bool = False  # answers were recorded
    published: float | None = None
    outcome: Outcome = field(default_factory=Outcome)


def _now() -> datetime:
    return datetime.now(UTC)


def launchable(steps: list[StepRow], status: dict[str, str], busy: set[str], limit: int) -> list[StepRow]:
    """Pending steps whose dependencies all succeeded, up to `limit` running at once (plan order)."""
    out: list[StepRow] = []
    room = limit - len(busy)
    for s in steps:
        if len(out) >= room:
            break
        if status[s.id] == "pending" and all(status.get(d, "succeeded") == "succeeded" for d in s.depends_on):
            out.append(s)
    return out


class Committer:
    def __init__(self, env: ExecutionEnv) -> None:
        self.env = env
        self._queue: list[tuple[Request, asyncio.Future[Outcome]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed, and requests they carried (for metrics and tests)
        self.requests = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, fut in self._queue:
            if not fut.done():
                fut.set_exception(RuntimeError("the runner stopped"))

    async def submit(self, request: Request) -> Outcome:
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((request, fut))
        self._wake.set()
        return await fut

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # let the tasks that are ready join this batch
            batch, self._queue = self._queue, []
            batch = [(r, f) for r, f in batch if not f.done()]
            if not batch:
                continue
            try:
                await self._settle(batch)
            except asyncio.CancelledError:
                for _, fut in batch:
                    if not fut.done():
                        fut.cancel()
                raise

    async def _settle(self, batch: list[tuple[Request, asyncio.Future[Outcome]]]) -> None:
        try:
            for attempt in range(4):  # a deadlock victim or a busy database: the same batch again
                try:
                    outcomes = await self._commit([r for r, _ in batch])
                    break
                except Exception as exc:
                    if attempt == 3 or not transient_error(exc):
                        raise
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            for one in batch:  # one activation's error must not fail the others: each alone
                await self._settle([one])
            return
        for request, fut in batch:
            if not fut.done():
                fut.set_result(outcomes[request.track.id])

    async def _commit(self, requests: list[Request]) -> dict[str, Outcome]:
        now = _now()
        until = now + timedelta(seconds=self.env.lease_seconds)
        plans: dict[str, _Plan] = {}
        async with self.env.store.write(ALL_TENANTS) as uow:
            acts = uow.activations
            fresh_tracks = [r.track.id for r in requests if r.track.steps is None]
            loaded = await acts.steps_of(fresh_tracks) if fresh_tracks else {}
            candidates: dict[str, list[StepRow]] = {}
            for r in requests:
                t = r.track
                steps = t.steps if t.steps is not None else loaded.get(t.id, [])
                plan = _Plan(status=dict(t.status) if t.steps is not None else {s.id: s.status for s in steps},
                             busy=set(t.busy), steps=steps, last=t.published)
                for a in r.answers:
                    plan.busy.discard(a.step.id)
                    plan.status[a.step.id] = "failed" if a.error is not None else "succeeded"
                plans[t.id] = plan
                fresh_start = t.steps is None and any(s.status != "pending" for s in steps)
                if r.start and not fresh_start and "failed" not in plan.status.values():
                    candidates[t.id] = launchable(steps, plan.status, plan.busy, self.env.concurrency)
                if fresh_start:  # in doubt, failed or compensating after a crash: not plain forward work
                    plan.outcome.handover = True
            # Lock order everywhere: services, then activations.
            service_ids = {a.step.service_id for r in requests for a in r.answers}
            service_ids |= {s.service_id for cs in candidates.values() for s in cs}
            services = await uow.services.get_many(service_ids, for_update=True)
            held = await acts.touch_many(plans, self.env.owner, now, until)
            await self._record(uow, requests, plans, held, now)
            await self._start(uow, plans, held, candidates, services, now)
            await self._advance(uow, plans, held, now)
            await acts.extend_many(held, self.env.owner, now + timedelta(seconds=self.env.lease_seconds))
        for r in requests:
            plan = plans[r.track.id]
            t = r.track
            t.status, t.busy, t.steps = plan.status, plan.busy, plan.steps
            t.act = plan.act or t.act
            if plan.published is not None:
                t.published = plan.published
        self.batches += 1
        self.requests += len(requests)
        return {tid: plan.outcome for tid, plan in plans.items()}

    async def _record(
        self, uow: UnitOfWork, requests: list[Request], plans: dict[str, _Plan], held: dict[str, ActivationRow],
        now: datetime,
    ) -> None:
        """The drivers' answers: step rows first (one statement), then each success's service change."""
        rows: list[dict[str, Any]] = []
        changes: list[tuple[ActivationRow, Answer]] = []
        for r in requests:
            act = held.get(r.track.id)
            if act is None:
                plans[r.track.id].outcome.lost = True
                continue
            order = act.done_count
            for a in r.answers:
                if a.error is None:
                    order += 1
                    changes.append((act, a))
                rows.append({"step": a.step.id, "status": "failed" if a.error is not None else "succeeded",
                             "result": a.result if a.error is None else None, "error": a.error,
                             "done_order": order if a.error is None else None})
            plans[r.track.id].act = dataclasses.replace(act, done_count=order)
            plans[r.track.id].recorded = bool(r.answers)
        await uow.activations.finish_steps(rows, now)
        for act, a in changes:
            await apply_doc(uow, record_context(act, a.step), a.step.service_id, a.step.after_doc or {}, now,
                            operation=revision_operation(act), by_value=a.step.by_value)

    async def _start(
        self, uow: UnitOfWork, plans: dict[str, _Plan], held: dict[str, ActivationRow],
        candidates: dict[str, list[StepRow]], services: dict[str, ServiceRow], now: datetime,
    ) -> None:
        """The next ready steps, decided against the as-is services and recorded running (one statement)."""
        startable = {tid: cs for tid, cs in candidates.items()
                     if tid in held and not _stopping(plans[tid].act or held[tid])}
        fresh = await uow.activations.steps_by_id(s.id for cs in startable.values() for s in cs)
        starts: list[dict[str, Any]] = []
        for tid, cs in startable.items():
            plan = plans[tid]
            act = plan.act or held[tid]
            for candidate in cs:
                step = fresh.get(candidate.id)
                if step is None or step.status != "pending":
                    plan.status[candidate.id] = step.status if step is not None else "cancelled"
                    plan.outcome.again = True
                    continue
                row = services.get(step.service_id)
                res = await self.env.resolve(uow, step, row, now)
                if res is None:
                    plan.status[step.id] = "failed"
                    continue
                if res.action is None:  # nothing for the network: the intent becomes the as-is at once
                    act = dataclasses.replace(act, done_count=act.done_count + 1)
                    plan.act = act
                    await uow.activations.finish_step(
                        step.id, status="succeeded", now=now, expect=("pending",), done_order=act.done_count,
                        action=None, from_state=res.from_state, before=res.before, after=res.after,
                    )
                    await apply_doc(uow, record_context(act, step), step.service_id, res.after, now,
                                    operation=revision_operation(act), by_value=step.by_value)
                    plan.status[step.id] = "succeeded"
                    plan.outcome.again = True
                    continue
                starts.append({"step": step.id, "action": res.action, "from_state": res.from_state,
                               "before": res.before, "after": res.after, "attempts": step.attempts + 1})
                plan.status[step.id] = "running"
                plan.busy.add(step.id)
                plan.outcome.started.append(dataclasses.replace(
                    step, status="running", action=res.action, from_state=res.from_state, before_doc=res.before,
                    after_doc=res.after, attempts=step.attempts + 1, started_at=now))
        await uow.activations.start_steps(starts, now)

    async def _advance(
        self, uow: UnitOfWork, plans: dict[str, _Plan], held: dict[str, ActivationRow], now: datetime
    ) -> None:
        """Counters and statuses (one statement per kind), then the Monitors of what finished or progressed."""
        changes: list[dict[str, Any]] = []
        publish: list[tuple[_Plan, ActivationRow, bool, bool]] = []
        moment = time.monotonic()
        for tid, plan in plans.items():
            before = held.get(tid)
            if before is None:
                continue
            act = plan.act or before
            if plan.outcome.started and act.status == "queued":
                act = dataclasses.replace(act, status="running")
            # As one execution does: progress at most every progress_seconds, then the outcome.
            progressed = (plan.recorded or plan.outcome.again) and moment - plan.last >= self.env.progress_seconds
            if set(plan.status.values()) <= {"succeeded"} and not _stopping(act) and not act.delete_root:
                act = dataclasses.replace(act, status="completed", lease_owner=None, lease_expires=None)
                plan.outcome.finished = True
                publish.append((plan, act, True, progressed))
            elif progressed:
                publish.append((plan, act, False, False))
            elif not plan.busy and not plan.outcome.again:
                plan.outcome.handover = True  # a failure, a cancel, held work, a delete: the one-activation path
            plan.act = act
            if act.status != before.status or act.done_count != before.done_count:
                changes.append({"activation": tid, "done_count": act.done_count, "status": act.status})
        await uow.activations.advance_many(changes, now)
        for plan, act, final, progress_first in publish:
            ids = await progress.publish(uow, act, now, final=final, progress_first=progress_first)
            plan.published = moment
            if final:
                plan.outcome.notify = ids


def _stopping(act: ActivationRow) -> bool:
    """Plain forward work ends here: a cancel, held work, or anything but queued/running is the Execution's."""
    return act.cancel_requested or act.held or act.status not in ("queued", "running")
