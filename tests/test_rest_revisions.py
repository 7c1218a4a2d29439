"""Every committed change writes one revision (create, patch, delete) carrying the request's correlation id."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette

from tests.tmf import API, MERGE, create, minimal, stored


async def revisions(app: Starlette, id: str) -> list[dict]:
    async with app.state.resolvers.store.read() as uow:
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
    assert [(r["version"], r["operation"], r["correlation"]) for r in got] == [
        (1, "create", "corr-create"),
        (2, "patch", "corr-patch"),
        (3, "patch", "corr-activate"),
        (4, "delete", "corr-delete"),
    ]
    assert {"op": "add", "path": "/name", "value": "a"} in got[0]["changes"]
    assert got[1]["changes"] == [{"op": "replace", "path": "/name", "value": "b"}]
    assert got[2]["changes"] == [{"op": "replace", "path": "/state", "value": "active"}]


async def test_members_by_value_get_their_own_create_revision(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(
        client, minimal(isBundle=True, supportingService=[minimal(name="m")]), **{"X-Correlation-ID": "corr-b"}
    )
    member_id = created["supportingService"][0]["id"]
    assert (await stored(app, created["id"])).revisions == [(1, "create", "corr-b")]
    assert (await stored(app, member_id)).revisions == [(1, "create", "corr-b")]


async def test_correlation_id_is_generated_when_not_sent(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, minimal(isBundle=True, supportingService=[minimal(name="m")]))
    parent = (await stored(app, created["id"])).revisions[0][2]
    member = (await stored(app, created["supportingService"][0]["id"])).revisions[0][2]
    assert parent is not None and uuid.UUID(parent)
    assert member == parent  # one request, one correlation id
