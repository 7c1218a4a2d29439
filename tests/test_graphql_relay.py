"""Relay done right: keyset cursors stay exact while rows are inserted and deleted between pages, for every
kind of sort (id, a text projection descending, a date projection with missing values, an indexed attribute
path); `node(id:)` / `nodes(ids:)` fetch services, monitors and hub listeners by their global `nodeId`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.graphql import gql, ok, settle

API = "/tmf-api/serviceActivationAndConfiguration/v4"
PAGE = """query($sort: [SortBy!], $after: String) {
  services(filter: {category: ["keyset"]}, sort: $sort, first: 3, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id }
  }
}"""


def service(id: str, name: str, start: str | None, author: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": id, "name": name, "state": "designed", "category": "keyset",
                           "serviceSpecification": {"id": "spec", "name": "spec"}}
    if start is not None:
        doc["startDate"] = start
    if author is not None:
        doc["note"] = [{"author": author, "text": "t"}]
    return doc


ORIGINAL = [service(f"k{i}", f"name-{'hgfedcba'[i]}", f"20{10 + i % 4}-01-01T00:00:00Z" if i % 3 else None,
                    f"author-{i % 3}" if i % 4 else None) for i in range(8)]
# For each sort: a row that sorts before every original (so before any cursor) and one that sorts after all.
SORTS: list[tuple[str, list[dict[str, Any]], Any, Any]] = [
    ("id", [], ("a0", "name-m", None, None), ("z9", "name-m", None, None)),
    ("name descending", [{"field": "name", "descending": True}], ("x1", "zzz", None, None), ("x2", "aaa", None, None)),
    ("startDate, missing last", [{"field": "startDate"}], ("y1", "m", "1990-01-01T00:00:00Z", None),
     ("y2", "m", None, None)),
    ("note.author path", [{"path": "note.author"}, {"field": "name", "descending": True}],
     ("w1", "m", None, "aaa"), ("w2", "m", None, None)),
]


async def _write(client: httpx.AsyncClient, doc: dict[str, Any]) -> None:
    response = await client.post(f"{API}/service", json=doc)
    assert response.status_code == 201, response.text


async def _all(client: httpx.AsyncClient, sort: list[dict[str, Any]]) -> list[str]:
    data = await ok(client, """query($sort: [SortBy!]) { services(filter: {category: ["keyset"]}, sort: $sort) {
        nodes { id } } }""", {"sort": sort})
    return [n["id"] for n in data["services"]["nodes"]]


@pytest.mark.parametrize("label, sort, before, after", SORTS, ids=[s[0] for s in SORTS])
async def test_keyset_pages_stay_exact_while_rows_are_inserted_and_deleted(
    client: httpx.AsyncClient, label: str, sort: list[dict[str, Any]], before: Any, after: Any
) -> None:
    for doc in ORIGINAL:
        await _write(client, doc)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    removed: str | None = None
    while True:
        data = (await ok(client, PAGE, {"sort": sort, "after": cursor}))["services"]
        seen += [n["id"] for n in data["nodes"]]
        pages += 1
        if pages == 1:  # between pages: one row lands before the cursor, one after it
            await _write(client, service(*before))
            await _write(client, service(*after))
        if pages == 2:  # and one row not read yet goes away
            rest = [i for i in await _all(client, sort) if i not in seen and i != after[0]]
            removed = rest[0]
            assert (await client.delete(f"{API}/service/{removed}")).status_code == 204
        if not data["pageInfo"]["hasNextPage"]:
            break
        cursor = data["pageInfo"]["endCursor"]
    final = await _all(client, sort)
    assert len(seen) == len(set(seen)), f"{label}: a row appeared twice: {seen}"
    assert seen == [i for i in final if i != before[0]], label  # in order, none skipped, none repeated
    assert after[0] in seen and before[0] not in seen and removed not in seen


async def test_a_cursor_of_another_sort_is_refused_by_name(client: httpx.AsyncClient) -> None:
    for doc in ORIGINAL[:4]:
        await _write(client, doc)
    data = (await ok(client, PAGE, {"sort": [], "after": None}))["services"]
    body = await gql(client, PAGE, {"sort": [{"field": "name"}], "after": data["pageInfo"]["endCursor"]})
    assert "another sort" in body["errors"][0]["message"] and body["errors"][0]["extensions"]["path"] == "after"
    body = await gql(client, PAGE, {"sort": [], "after": "bm90IGEgY3Vyc29y"})
    assert "not a cursor this server issued" in body["errors"][0]["message"]


NODE = """query($id: ID!) { node(id: $id) { __typename nodeId
  ... on Service { id name } ... on Monitor { id state } ... on Hub { id callback } } }"""


async def test_node_fetches_services_monitors_and_hubs_by_global_id(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await ok(client, """mutation { createService(input: {state: "designed", name: "n1",
        serviceSpecification: {id: "s", name: "s"}}) { ... on ServicePayload { service { id nodeId }
        monitor { id nodeId } } } }""")
    payload = created["createService"]
    await settle(app, payload)
    hub = await ok(client, """mutation { registerHub(callback: "http://127.0.0.1:9/listener") {
        ... on HubPayload { hub { id nodeId } } } }""")
    hub_ids = hub["registerHub"]["hub"]
    service, monitor = payload["service"], payload["monitor"]
    assert len({service["nodeId"], monitor["nodeId"], hub_ids["nodeId"]}) == 3

    found = (await ok(client, NODE, {"id": service["nodeId"]}))["node"]
    assert found == {"__typename": "Service", "nodeId": service["nodeId"], "id": service["id"], "name": "n1"}
    found = (await ok(client, NODE, {"id": monitor["nodeId"]}))["node"]
    assert found["__typename"] == "Monitor" and found["id"] == monitor["id"] and found["state"] == "Completed"
    found = (await ok(client, NODE, {"id": hub_ids["nodeId"]}))["node"]
    assert found == {"__typename": "Hub", "nodeId": hub_ids["nodeId"], "id": hub_ids["id"],
                     "callback": "http://127.0.0.1:9/listener"}

    many = await ok(client, "query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId } }",
                    {"ids": [hub_ids["nodeId"], service["nodeId"], "U2VydmljZTpub3Bl", monitor["nodeId"]]})
    assert [n and n["__typename"] for n in many["nodes"]] == ["Hub", "Service", None, "Monitor"]
    bad = await gql(client, NODE, {"id": service["id"]})  # a TMF id is not a global id
    assert "not a global id" in bad["errors"][0]["message"]
    # The TMF id keeps its value: REST and GraphQL name the service alike.
    assert (await client.get(f"{API}/service/{service['id']}")).status_code == 200
