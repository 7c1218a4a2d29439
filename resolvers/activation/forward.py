"""One activation's forward work, recorded through the runner's `Committer` (group commit, `batch.py`).

The task asks the committer to start its ready steps (they are recorded `running` in a shared transaction),
calls their drivers concurrently, and hands each answer back as soon as it arrives, with the request to start
what became ready; the committer records the answers of every activation that answered meanwhile in one
transaction. When the work is not plain forward work any more (a failure, a cancel, held work, compensation,
steps left in doubt by a crash), the rest is the one-activation `Execution`'s, which resumes from the rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from resolvers import telemetry
from resolvers.activation import calls, observe
from resolvers.activation.batch import Answer, Committer, Outcome, Request, Track
from resolvers.activation.env import ExecutionEnv, LeaseLost, Stopping
from resolvers.activation.execution import Execution
from resolvers.activation.step_view import driver_step
from store.activation_types import ActivationRow, StepRow


class Forward:
    def __init__(self, env: ExecutionEnv, committer: Committer, activation_id: str) -> None:
        self.env = env
        self.committer = committer
        self.id = activation_id

    async def run(self) -> bool:
        """Run the activation; True when it finished here (its lease already let go)."""
        track = Track(self.id)
        running: dict[asyncio.Task[Answer], StepRow] = {}
        answers: list[Answer] = []
        stop: BaseException | None = None
        labelled = False
        try:
            while True:
                start = stop is None and not self.env.stopping.is_set()
                outcome: Outcome = await self.committer.submit(Request(track, answers, start))
                answers = []
                if outcome.lost:
                    raise LeaseLost(self.id)
                if outcome.finished:
                    assert track.act is not None
                    observe.finished(track.act, "completed", datetime.now(UTC))
                    self.env.notifier.notify(outcome.notify)
                    return True
                if track.act is not None and not labelled:  # every line of this work carries its ids
                    telemetry.set_context(**observe.ids_of(track.act))
                    labelled = True
                for step in outcome.started:
                    assert track.act is not None
                    running[asyncio.create_task(self._call(track.act, step))] = step
                if not running:
                    if stop is not None:
                        raise stop
                    if self.env.stopping.is_set():
                        raise Stopping()
                    if outcome.again and not outcome.handover:
                        continue
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    running.pop(task)
                    try:
                        answers.append(task.result())
                    except Exception as exc:  # Stopping, Held, LeaseLost...: record the others, then stop
                        stop = stop or exc
        finally:
            # Never abandon a driver call under way: it ends (its answer unrecorded: in doubt, sent again with
            # the same id by whoever resumes) or stops at its own safe point.
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        await Execution(self.env, self.id).run()
        return False

    async def _call(self, act: ActivationRow, step: StepRow) -> Answer:
        call = driver_step(act, step)
        result, error = await calls.execute(self.env, call, guard=self._guard, hold=self._hold)
        observe.step_done(self.env.drivers, call, error)
        return Answer(step, result, error)

    async def _guard(self) -> None:
        await self.env.guard(self.id)

    async def _hold(self, reason: str) -> None:
        await Execution(self.env, self.id)._hold(reason)

