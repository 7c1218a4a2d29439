"""Every committed change writes one revision (create, patch, delete, and the state a driver reaches) carrying
the request's correlation id."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette

from store.uow import ALL_TENANTS
from tests.tmf import API, MERGE, create, minimal, stored


async def revisions(app: Starlette, id: str) -> list[dict]:
    async with app.state.resolvers.store.read(ALL_TENANTS) as uow:
        return [
            {"version": r.version, "operation": r.operation, "correlation": r.correlation_id, "changes": r.changes}
            for r in await uow.services.revisions([id])
        ]


async def test_create_patch_delete_each_write_one_revision(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, minimal(name="a"), **{"X-Correlation-ID": "corr-create"})
    sid = created["id"]
    url = f"{API}/service/{sid}"
    await client.patch(url, json={"name": "b"}, headers={**MERGE, "X-Correlation-ID": "corr-patch"})
    await client.patch(url, json={"state": "active"}, headers={**MERGE, "X-Correlation-ID": "corr-activate"})
    await client.patch(url, json={"name": "b"}, headers={**MERGE, "X-Correlation-ID": "corr-nothing"})  # no change
    assert (await client.delete(url, headers={"X-Correlation-ID": "corr-delete"})).status_code == 204

    got = await revisions(app, sid)
    # The engine moves `state` only when a driver succeeds (README, "Activation"): the create is recorded
    # as accepted (no state), then the state its design driver reached, under the same correlation id;
    # the delete of an active service first records its termination, then the removal.
    assert [(r["version"], r["operation"], r["correlation"]) for r in got] == [
        (1, "create", "corr-create"),
        (2, "state", "corr-create"),
        (3, "patch", "corr-patch"),
        (4, "patch", "corr-activate"),
        (5, "state", "corr-delete"),
        (6, "delete", "corr-delete"),
    ]
    assert {"op": "add", "path": "/name", "value": "a"} in got[0]["changes"]
    assert not any(op["path"] == "/state" for op in got[0]["changes"])
    assert got[1]["changes"] == [{"op": "add", "path": "/state", "value": "designed"}]
    assert got[2]["changes"] == [{"op": "replace", "path": "/name", "value": "b"}]
    assert got[3]["changes"] == [{"op": "replace", "path": "/state", "value": "active"}]
    assert got[4]["changes"] == [{"op": "replace", "path": "/state", "value": "terminated"}]


async def test_members_by_value_get_their_own_create_revision(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(
        client, minimal(isBundle=True, supportingService=[minimal(name="m")]), **{"X-Correlation-ID": "corr-b"}
    )
    member_id = created["supportingService"][0]["id"]
    # Each its own create revision; the second is the state its design driver reached (same request).
    assert (await stored(app, created["id"])).revisions == [(1, "create", "corr-b"), (2, "state", "corr-b")]
    assert (await stored(app, member_id)).revisions == [(1, "create", "corr-b"), (2, "state", "corr-b")]


async def test_correlation_id_is_generated_when_not_sent(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, minimal(isBundle=True, supportingService=[minimal(name="m")]))
    parent = (await stored(app, created["id"])).revisions[0][2]
    member = (await stored(app, created["supportingService"][0]["id"])).revisions[0][2]
    assert parent is not None and uuid.UUID(parent)
    assert member == parent  # one request, one correlation id
