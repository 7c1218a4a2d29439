"""Memory that grows with traffic is bounded: the simulated driver's journal and answers, the subscription memo."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from strawberry.types import ExecutionResult

from resolvers.activation.drivers.base import Step
from resolvers.activation.drivers.simulated import SimulatedDriver
from schema.execution import BoundedExecutionContext


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


@strawberry.type
class Tick:
    n: int
    child: Tick | None = None


@strawberry.type
class TickQuery:
    hello: str = "hi"


@strawberry.type
class TickSubscription:
    @strawberry.subscription
    async def ticks(self, count: int) -> AsyncGenerator[Tick, None]:
        for n in range(count):
            yield Tick(n=n, child=Tick(n=-n))


async def test_subscription_events_leave_no_memo_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core memoises collected sub-fields per executor, keyed by lists built anew for each event: each
    event's executor has memos of its own, so the subscription's do not grow with the events it delivers."""
    parents: list[Any] = []
    original = BoundedExecutionContext.build_per_event_executor

    def spy(self: Any, payload: Any) -> Any:
        parents.append(self)
        return original(self, payload)

    monkeypatch.setattr(BoundedExecutionContext, "build_per_event_executor", spy)
    schema = strawberry.Schema(TickQuery, subscription=TickSubscription,
                               execution_context_class=BoundedExecutionContext)
    stream = await schema.subscribe("subscription { ticks(count: 200) { n child { n } } }")
    assert not isinstance(stream, ExecutionResult)
    seen = [result.data async for result in stream]
    assert len(seen) == 200 and seen[-1] == {"ticks": {"n": 199, "child": {"n": -199}}}
    (subscription,) = {id(p): p for p in parents}.values()
    assert len(subscription._relevant_sub_fields) == 0 and len(subscription._plans) == 0
