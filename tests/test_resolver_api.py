"""The resolver API GraphQL builds on: writes return the service and its Monitor at once."""

from __future__ import annotations

from resolvers.api import Resolvers
from resolvers.context import RequestContext


async def test_a_write_returns_the_service_and_its_monitor_at_once(resolvers: Resolvers) -> None:
    ctx = RequestContext(base_url="http://api.example")
    gate = resolvers.engine.drivers.get("simulated").hold(action="activate")  # type: ignore[attr-defined]
    created = await resolvers.services.create(
        ctx, {"name": "n", "state": "active", "serviceSpecification": {"name": "s"}}, policy="partial"
    )
    assert created.monitor is not None and created.monitor["state"] == "InProgress"
    assert "state" not in created.service and created.service["x-activation"][0]["targetState"] == "active"
    gate.release()
    done = await resolvers.engine.wait(ctx, created.monitor["id"], 30)
    assert done is not None and done["state"] == "Completed"
    (member,) = resolvers.monitors.member_statuses(done)
    assert member["status"] == "completed" and member["state"] == "active"
    assert (await resolvers.services.get(ctx, created.service["id"])).service["state"] == "active"
