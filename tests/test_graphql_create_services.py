"""`createServices`: up to 50 services in one transaction, all or nothing, a typed error per item."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.graphql import finished, ok

API = "/tmf-api/serviceActivationAndConfiguration/v4"
CREATE = """
mutation Many($input: [JSON!]!) {
  createServices(input: $input, correlationId: "batch-1") {
    __typename
    ... on CreateServicesPayload { correlationId services { service { id name state } monitor { id } } }
    ... on CreateServicesRefused {
      code message
      items { index error { __typename ... on ValidationError { path message } ... on ConflictError { message } } }
    }
    ... on ValidationError { path message }
  }
}
"""


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": "active", "serviceSpecification": {"name": "vCPE"}, **extra}


async def _create(client: httpx.AsyncClient, items: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await ok(client, CREATE, {"input": items}))["createServices"]
    return result


async def test_every_service_is_created_in_one_request(app: Starlette, client: httpx.AsyncClient) -> None:
    items = [body("a", id="batch-a"), body("b"),
             body("bundle", isBundle=True, supportingService=[{"name": "member",
                                                                "serviceSpecification": {"name": "vCPE"}}])]
    result = await _create(client, items)
    assert result["__typename"] == "CreateServicesPayload", result
    assert result["correlationId"] == "batch-1"
    assert [p["service"]["name"] for p in result["services"]] == ["a", "b", "bundle"]
    assert result["services"][0]["service"]["id"] == "batch-a"
    for payload in result["services"]:
        assert (await finished(app, payload["monitor"]["id"]))["state"] == "Completed"
    bundle = (await client.get(f"{API}/service/{result['services'][2]['service']['id']}")).json()
    assert bundle["state"] == "active"
    assert bundle["supportingService"][0]["name"] == "member"


async def test_one_bad_item_and_none_is_created(client: httpx.AsyncClient) -> None:
    items = [body("fine", id="kept-out"), {"name": "no spec", "state": "active"}, body("twin", id="kept-out")]
    result = await _create(client, items)
    assert result["__typename"] == "CreateServicesRefused"
    assert result["code"] == "BatchRefused"
    assert [(i["index"], i["error"]["__typename"], i["error"]["path"]) for i in result["items"]] == [
        (1, "ValidationError", "serviceSpecification"), (2, "ValidationError", "id")]
    assert (await client.get(f"{API}/service/kept-out")).status_code == 404


async def test_an_id_already_taken_refuses_the_whole_request(client: httpx.AsyncClient) -> None:
    first = await _create(client, [body("one", id="taken")])
    assert first["__typename"] == "CreateServicesPayload"
    result = await _create(client, [body("two", id="new-two"), body("three", id="taken")])
    assert result["__typename"] == "CreateServicesRefused"
    assert [(i["index"], i["error"]["__typename"]) for i in result["items"]] == [(1, "ConflictError")]
    assert "taken" in result["items"][0]["error"]["message"]
    assert (await client.get(f"{API}/service/new-two")).status_code == 404
    listed = await client.get(f"{API}/service?name=one,two,three")
    assert [s["name"] for s in listed.json()] == ["one"]


async def test_more_than_50_is_refused_before_anything(client: httpx.AsyncClient) -> None:
    result = await _create(client, [body(f"s{i}") for i in range(51)])
    assert result["__typename"] == "ValidationError"
    assert result["path"] == "input"
    assert "51" in result["message"]
    empty = await _create(client, [])
    assert empty["__typename"] == "ValidationError"
