"""A member is rendered by value only inside the service that holds it by value (REST and GraphQL alike)."""

from __future__ import annotations

import httpx

from tests.graphql import ok

API = "/tmf-api/serviceActivationAndConfiguration/v4"
SPEC = {"name": "vCPE"}


async def test_a_reference_to_another_bundles_member_stays_a_reference(client: httpx.AsyncClient) -> None:
    holder = {"id": "holder", "state": "designed", "serviceSpecification": SPEC,
              "supportingService": [{"id": "m", "name": "member", "serviceSpecification": SPEC}]}
    pointer = {"id": "pointer", "state": "designed", "serviceSpecification": SPEC, "supportingService": [{"id": "m"}]}
    for body in (holder, pointer):
        assert (await client.post(f"{API}/service", json=body)).status_code == 201
    listed = {s["id"]: s for s in (await client.get(f"{API}/service?id=holder,pointer")).json()}
    assert listed["holder"]["supportingService"][0]["name"] == "member"
    assert listed["pointer"]["supportingService"] == [{"id": "m"}]
    data = await ok(client, '{ services(filter: {ids: ["holder", "pointer"]}) { nodes { id document } } }')
    assert [n["document"] for n in data["services"]["nodes"]] == [listed["holder"], listed["pointer"]]
