"""Memory that grows with traffic is bounded: the simulated driver's journal and answers, the subscription memo."""

from __future__ import annotations

import contextlib
from typing import Any

from resolvers.activation.drivers.base import Step
from resolvers.activation.drivers.simulated import SimulatedDriver
from schema.execution import MAX_MEMO, BoundedExecutionContext


def step(i: int) -> Step:
    return Step(id=f"s-{i}", activation_id="a", service_id=f"svc-{i}", action="activate",
                service={"id": f"svc-{i}", "serviceSpecification": {"name": "x"}})


async def test_the_simulated_driver_keeps_its_newest_calls_only() -> None:
    driver = SimulatedDriver(memory=10)
    for i in range(35):
        await driver.execute(step(i))
    assert len(driver.calls) <= 10 and driver.calls[-1].step_id == "s-34"
    assert len(driver._outcomes) <= 10
    await driver.execute(step(34))  # a recent step sent again is still known as a repeat
    assert driver.calls[-1].repeat


def test_the_execution_context_memo_is_emptied_past_its_bound() -> None:
    class Probe(BoundedExecutionContext):
        def __init__(self) -> None:  # only the memo matters here
            memo: Any = {(object(), n): ([], None) for n in range(MAX_MEMO + 1)}
            self._relevant_sub_fields = memo

    probe = Probe()
    with contextlib.suppress(Exception):  # the real collection needs a schema; the bound is applied before it
        probe.collect_subfields(object(), [])
    assert len(probe._relevant_sub_fields) == 0
