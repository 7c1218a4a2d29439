"""What activation costs in SQL statements (group commit, docs/performance.md "Budgets"), counted by a SQLAlchemy
`before_cursor_execute` listener on every statement the engine's runner sends while it works.

Requests are made with the runner stopped; the runner is then started inside a context that marks its tasks
(every task it creates inherits the mark), and the statements those tasks send are counted until every Monitor
is final. The lease keeper's thread and the relay are not counted: they run on timers, not per activation.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.engine_support import WAIT, Harness, MakeHarness, harness_factory, members, service
from tests.sqlcount import listening

__all__ = ["harness_factory"]

_ENGINE_TASK: ContextVar[bool] = ContextVar("engine_task", default=False)


@contextmanager
def engine_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Statements sent by tasks the runner started (they carry `_ENGINE_TASK`)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _ENGINE_TASK.get():
            statements.append(statement)

    with listening(engine, record):
        yield statements


async def run_counted(h: Harness, monitor_ids: list[str]) -> int:
    """Start the runner, wait for every monitor to be final; the statements its tasks sent meanwhile."""
    engine = h.resolvers.engine
    with engine_statements(engine.env.store.db.engine) as statements:  # the workers' pool (Store.for_workers)
        token = _ENGINE_TASK.set(True)
        try:
            await engine.start()
        finally:
            _ENGINE_TASK.reset(token)
        for mid in monitor_ids:
            monitor = await h.finished(mid, WAIT * 4)
            assert monitor["state"] == "Completed", monitor
        if os.environ.get("TMF640_SHOW_STATEMENTS"):
            for text, times in Counter(" ".join(st.split())[:110] for st in statements).most_common():
                print(f"{times:6d}  {text}")
        assert len(statements) >= len(monitor_ids), "the runner's statements were counted (on its own engine)"
        return len(statements)


async def test_activations_cost_a_bounded_number_of_statements(harness_factory: MakeHarness) -> None:
    h = await harness_factory(runner_enabled=False)
    n = 48
    ids = []
    for i in range(n):
        accepted = await h.post({"id": f"s{i}", **service(f"s{i}")}, asynchronous=True)
        ids.append(accepted.json()["id"])
    began = time.process_time()
    count = await run_counted(h, ids)
    cpu = time.process_time() - began
    per_activation = count / n
    print(f"\n{n} activations: {count} statements, {per_activation:.1f} per activation, "
          f"{cpu * 1000 / n:.1f} ms CPU per activation (the runner's work, this process)")
    # Budget (docs/performance.md "Budgets"): 17 measured with batches of 16; one activation alone costs ~30.
    assert per_activation <= 24
    committer = h.resolvers.engine.runner.committer
    assert committer.requests >= 3 * committer.batches  # the activations' records did share transactions
    for i in range(n):
        assert (await h.service(f"s{i}"))["state"] == "active"


async def test_a_big_bundle_costs_statements_linear_in_its_size(harness_factory: MakeHarness) -> None:
    h = await harness_factory(runner_enabled=False)
    size = 400
    body = {"id": "big", **service("big", isBundle=True,
                                  supportingService=[{"id": f"m{i}", **service(f"m{i}")} for i in range(size)])}
    accepted = await h.post(body, asynchronous=True)
    count = await run_counted(h, [accepted.json()["id"]])
    print(f"\nbundle of {size} members: {count} statements, {count / (size + 1):.1f} per step")
    done = await h.monitor(accepted.json()["id"])
    assert all(m["status"] == "completed" for m in members(done).values())
    # Linear in the bundle's size: ~12 per step measured at 100 and at 400 members (each step is recorded with
    # its service change, its revision and events; the Monitor is rewritten at most every progress_seconds).
    assert count / (size + 1) <= 16
