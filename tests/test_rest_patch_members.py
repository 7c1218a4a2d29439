"""PATCH on a bundle: the patch sees members by value as GET shows them; a member is changed at its own href."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.tmf import API, JSON_PATCH, MERGE, assert_tmf_error, create, minimal, stored


async def bundle(client: httpx.AsyncClient) -> dict[str, Any]:
    return await create(
        client,
        minimal(
            name="bundle",
            isBundle=True,
            supportingService=[
                minimal(name="member one"),
                {"id": "foreign-1", "href": "https://elsewhere.example/service/foreign-1"},
            ],
        ),
    )


async def test_json_patch_pointers_see_members_as_get_shows_them(client: httpx.AsyncClient) -> None:
    created = await bundle(client)
    member = created["supportingService"][0]
    url = f"{API}/service/{created['id']}"
    ops = [
        {"op": "test", "path": "/supportingService/0/name", "value": "member one"},
        {"op": "test", "path": "/href", "value": created["href"]},
        {"op": "replace", "path": "/name", "value": "renamed bundle"},
    ]
    response = await client.patch(url, json=ops, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "renamed bundle"
    assert response.json()["supportingService"][0] == member  # still rendered live, still by value


async def test_changing_a_member_through_its_parent_is_refused(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await bundle(client)
    before = await stored(app, created["id"])
    ops = [{"op": "replace", "path": "/supportingService/0/name", "value": "sneaky"}]
    response = await client.patch(f"{API}/service/{created['id']}", json=ops, headers=JSON_PATCH)
    assert_tmf_error(response, 400, "supportingService[0]", "its own href")
    assert await stored(app, created["id"]) == before


async def test_dropping_and_adding_members(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await bundle(client)
    old_member = created["supportingService"][0]
    patch = {"supportingService": [created["supportingService"][1], minimal(id="new-member", name="two")]}
    response = await client.patch(f"{API}/service/{created['id']}", json=patch, headers=MERGE)
    assert response.status_code == 200, response.text
    foreign, new = response.json()["supportingService"]
    assert foreign == created["supportingService"][1]
    assert new["id"] == "new-member" and new["name"] == "two" and new["state"] == "designed"
    assert (await client.get(new["href"])).json() == new  # created as a service of its own
    assert (await client.get(old_member["href"])).status_code == 200  # dropped from the bundle, not deleted
    # Its own create revision (the record as accepted, no state yet), then the state its driver reached,
    # recorded under the patch that asked for it (the engine moves state only when a driver succeeds).
    assert [r[1] for r in (await stored(app, "new-member")).revisions] == ["create", "patch"]
    assert (await stored(app, "new-member")).revisions[0][2] == (await stored(app, created["id"])).revisions[-1][2]


async def test_adding_a_member_by_value_with_a_taken_id_conflicts(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await bundle(client)
    other = await create(client, minimal(name="standalone"))
    before = await stored(app, created["id"])
    patch = {"supportingService": [*created["supportingService"], minimal(id=other["id"], name="clash")]}
    response = await client.patch(f"{API}/service/{created['id']}", json=patch, headers=MERGE)
    assert_tmf_error(response, 409, other["id"])
    assert await stored(app, created["id"]) == before


async def test_invalid_new_member_is_400_naming_it(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await bundle(client)
    before = await stored(app, created["id"])
    patch = {"supportingService": [*created["supportingService"], {"name": "no spec"}]}
    response = await client.patch(f"{API}/service/{created['id']}", json=patch, headers=MERGE)
    assert_tmf_error(response, 400, "supportingService[2].serviceSpecification")
    assert await stored(app, created["id"]) == before
