"""The services connection: each filter field gives what the equivalent REST query gives; Relay paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from tests.graphql import done, ok

API = "/tmf-api/serviceActivationAndConfiguration/v4"


def service(n: int, **attrs: Any) -> dict[str, Any]:
    return {"id": f"s{n}", "name": f"svc-{n}", "state": "designed", "serviceSpecification": {"id": "spec-0"},
            **attrs}


SERVICES = [
    service(1, state="active", category="A", serviceType="t1", **{"@type": "vCPE"},
            relatedParty=[{"id": "p1", "role": "owner"}], serviceSpecification={"id": "spec-1", "name": "vCPE"},
            serviceCharacteristic=[{"name": "MSISDN", "value": "111"}],
            startDate="2025-01-01T00:00:00Z", endDate="2025-06-01T00:00:00Z"),
    service(2, state="inactive", category="B", serviceType="t2", relatedParty=[{"id": "p2"}, {"id": "p1"}],
            serviceSpecification={"id": "spec-2", "name": "vFW"},
            serviceCharacteristic=[{"name": "speed", "value": 100}], startDate="2025-03-01T00:00:00+02:00"),
    service(3, category="A", isBundle=True, supportingService=[{"id": "s1"}], startDate="2025-05-01T00:00:00Z",
            endDate="2026-01-01T00:00:00Z", **{"@type": "vCPE"}),
    service(4, state="terminated", isBundle=False, serviceCharacteristic=[{"name": "speed", "value": 250}]),
    service(5, name="another", note=[{"author": "ops", "text": "x"}]),
]

# (GraphQL filter, the REST query string meaning the same)
CASES: list[tuple[dict[str, Any], str]] = [
    ({"states": ["active", "inactive"]}, "state=active,inactive"),
    ({"name": "svc-3"}, "name=svc-3"),
    ({"nameMatches": "^svc-[12]$"}, "name*=^svc-[12]$"),
    ({"category": ["A"]}, "category=A"),
    ({"serviceType": ["t1", "t2"]}, "serviceType=t1;t2"),
    ({"type": ["vCPE"]}, "@type=vCPE"),
    ({"isBundle": True}, "isBundle=true"),
    ({"isBundle": False}, "isBundle=false"),
    ({"relatedPartyId": ["p1"]}, "relatedParty.id=p1"),
    ({"specificationId": ["spec-2"]}, "serviceSpecification.id=spec-2"),
    ({"specificationName": ["vCPE"]}, "serviceSpecification.name=vCPE"),
    ({"characteristic": [{"name": "speed"}]}, "serviceCharacteristic.name=speed"),
    ({"characteristic": [{"name": "speed", "value": "250"}]},
     "serviceCharacteristic.name=speed&serviceCharacteristic.value=250"),
    ({"startDate": {"from": "2025-02-01T00:00:00Z"}}, "startDate.gte=2025-02-01T00:00:00Z"),
    ({"startDate": {"from": "2025-02-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}},
     "startDate.gte=2025-02-01T00:00:00Z&startDate.lte=2025-04-01T00:00:00Z"),
    ({"endDate": {"to": "2025-12-31T00:00:00Z"}}, "endDate.lte=2025-12-31T00:00:00Z"),
    ({"ids": ["s2", "s5", "nope"]}, "id=s2,s5,nope"),
    ({"where": [{"path": "note.author", "values": ["ops"]}]}, "note.author=ops"),
    ({"where": [{"path": "serviceCharacteristic.value", "op": "GT", "values": ["150"]}]},
     "serviceCharacteristic.value.gt=150"),
    ({"states": ["designed"], "category": ["A"]}, "state=designed&category=A"),
]

CONNECTION = """query($filter: ServiceFilter, $sort: [SortBy!], $first: Int, $after: String, $last: Int,
                     $before: String) {
  services(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name etag } }
  }
}"""


@pytest.fixture
async def inventory(app: Starlette) -> None:
    resolvers: Resolvers = app.state.resolvers
    for body in SERVICES:  # each waits for its work: the states are those the drivers reached
        await done(app, await resolvers.services.create(RequestContext(), body))


async def _ids(client: httpx.AsyncClient, **variables: Any) -> list[str]:
    data = await ok(client, CONNECTION, variables)
    return [edge["node"]["id"] for edge in data["services"]["edges"]]


@pytest.mark.usefixtures("inventory")
async def test_each_filter_matches_its_rest_equivalent(client: httpx.AsyncClient) -> None:
    for graphql_filter, rest_query in CASES:
        rest = await client.get(f"{API}/service?{rest_query}&fields=none")
        assert rest.status_code in (200, 206), rest.text
        expected = sorted(item["id"] for item in rest.json())
        got = await _ids(client, filter=graphql_filter)
        assert got == expected, (graphql_filter, rest_query)
        assert expected or graphql_filter.get("ids"), f"{rest_query} should match something"


@pytest.mark.usefixtures("inventory")
async def test_sort_and_relay_paging_forwards_and_backwards(client: httpx.AsyncClient) -> None:
    by_name = sorted((s["name"], s["id"]) for s in SERVICES)
    everything = [sid for _, sid in reversed(by_name)]
    assert await _ids(client, sort=[{"field": "name", "descending": True}]) == everything

    seen, after, pages = [], None, 0
    while True:
        data = (await ok(client, CONNECTION, {"first": 2, "after": after}))["services"]
        assert data["totalCount"] == len(SERVICES)
        seen += [e["node"]["id"] for e in data["edges"]]
        pages += 1
        assert data["pageInfo"]["hasPreviousPage"] == (pages > 1)
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == ["s1", "s2", "s3", "s4", "s5"] and pages == 3

    last = (await ok(client, CONNECTION, {"last": 2}))["services"]
    assert [e["node"]["id"] for e in last["edges"]] == ["s4", "s5"]
    assert last["pageInfo"]["hasPreviousPage"] and not last["pageInfo"]["hasNextPage"]
    before = (await ok(client, CONNECTION, {"last": 2, "before": last["pageInfo"]["startCursor"]}))["services"]
    assert [e["node"]["id"] for e in before["edges"]] == ["s2", "s3"]
    window = (await ok(client, CONNECTION, {"first": 10, "after": before["edges"][0]["cursor"],
                                            "before": last["pageInfo"]["endCursor"]}))["services"]
    assert [e["node"]["id"] for e in window["edges"]] == ["s3", "s4"]
    assert window["pageInfo"]["hasNextPage"] and window["pageInfo"]["hasPreviousPage"]
    empty = (await ok(client, CONNECTION, {"first": 0}))["services"]
    assert empty["edges"] == [] and empty["totalCount"] == 5 and empty["pageInfo"]["startCursor"] is None


@pytest.mark.usefixtures("inventory")
async def test_connection_nodes_navigate_and_carry_their_etag(client: httpx.AsyncClient) -> None:
    await client.patch(f"{API}/service/s3", json={"description": "v2"})
    data = await ok(client, """{ services(filter: {isBundle: true}) {
        nodes { id etag supportingServices { id name bundles { id } } } } }""")
    # Version 1: s3 as accepted; 2: the state its design driver reached; 3: the description.
    assert data["services"]["nodes"] == [
        {"id": "s3", "etag": '"3"', "supportingServices": [{"id": "s1", "name": "svc-1", "bundles": [{"id": "s3"}]}]}
    ]
