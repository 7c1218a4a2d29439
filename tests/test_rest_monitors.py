"""The monitor paths answer the same query contract (the activation engine writes monitors; here the repository)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

from store.uow import ALL_TENANTS
from tests.tmf import API, assert_tmf_error

STATES = ["InProgress", "Completed", "InError", "Completed", "Completed"]


async def add_monitors(app: Starlette) -> None:
    now = datetime.now(UTC)
    async with app.state.resolvers.store.write(ALL_TENANTS) as uow:
        for i, state in enumerate(STATES):
            doc = {"state": state, "sourceHref": f"http://x/service/s{i}", "request": {"method": "PATCH"}}
            await uow.monitors.insert(f"m{i}", doc, source_id=f"s{i}", correlation_id="c", now=now)


async def test_monitor_list_filters_pages_and_selects(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/monitor")).json() == []
    await add_monitors(app)
    completed = await client.get(f"{API}/monitor?state=Completed&limit=2&fields=state")
    assert completed.status_code == 206
    assert completed.headers["X-Total-Count"] == "3" and completed.headers["X-Result-Count"] == "2"
    assert completed.json() == [{"id": "m1", "state": "Completed"}, {"id": "m3", "state": "Completed"}]
    assert 'rel="next"' in completed.headers["Link"]
    dotted = await client.get(f"{API}/monitor?request.method=PATCH&state=InError,InProgress&sort=-state")
    assert [m["id"] for m in dotted.json()] == ["m0", "m2"]
    one = await client.get(f"{API}/monitor/m4?fields=none")
    assert one.json() == {"id": "m4", "href": f"http://testserver{API}/monitor/m4"}


async def test_monitor_errors(client: httpx.AsyncClient) -> None:
    assert_tmf_error(await client.get(f"{API}/monitor/unknown"), 404, "unknown")
    assert_tmf_error(await client.get(f"{API}/monitor?nosuch=1"), 400, "nosuch")
    assert_tmf_error(await client.get(f"{API}/monitor?state.like=x"), 400, "unknown operator")
